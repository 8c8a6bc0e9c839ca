// Passlock emulator client: a stand-in for the `/safe` entry point of @passlock/client 2.4.2
// (@passlock/browser 2.4.3), talking to this emulator. It exports the same functions, error
// classes and predicates, and gives the same results wherever a caller can tell:
//
// - every function resolves (never rejects, except as noted below) to a tagged object: the
//   success value, or an instance of an `Error` subclass with a `_tag`;
// - results carry the library's non-enumerable envelope: `success` / `failure` booleans and
//   `value` (on successes) or `error` (on failures), each pointing at the result itself;
// - a WebAuthn failure is `@error/OtherPasskey` with the code @simplewebauthn/browser gives
//   (`ERROR_PASSTHROUGH_SEE_CAUSE_PROPERTY` for a refused, cancelled or timed-out prompt,
//   `ERROR_CEREMONY_ABORTED` only for an AbortError, ...) and `cause` = the browser's error
//   (a `NotAllowedError` DOMException...); `InvalidStateError` on registration is
//   `@error/DuplicatePasskey`; `NotSupportedError` is `@error/OtherPasskey`, not
//   `@error/PasskeyUnsupported` (that tag means "no WebAuthn in this browser" only);
// - only authentication verification turns the API's `@error/PasskeyNotFound` into
//   `@error/OrphanedPasskey`; every other API or HTTP failure is `@error/Network`;
// - `authenticatePasskey` sends `rpId`; ceremonies ask the API for options before checking
//   that the browser supports WebAuthn, and a new ceremony aborts the one in progress;
// - `deletePasskey` / `updatePasskey` fail with `@error/Delete` / `@error/Update` (codes
//   `PASSKEY_DELETION_UNSUPPORTED`, `PASSKEY_UPDATE_UNSUPPORTED`, `OTHER_ERROR`) and resolve
//   `DeleteSuccess` / `UpdateSuccess` as soon as the browser has been signalled, even when the
//   device then refuses (the signal is not awaited); a network failure while looking the
//   credential up rejects the promise, as in the library.
//
// Deliberate differences: the default `endpoint` is the emulator this file is served from
// (the library's is https://api.passlock.dev); the optional second `logger` argument is
// ignored (log events are still dispatched on `window` as `PasslockLogEvent`);
// `prunePasskeys` calls the right URL (2.4.2 and 2.4.3 build a broken one: don't rely on it).

const DEFAULT_ENDPOINT = new URL("./", import.meta.url).href;

// -- results ---------------------------------------------------------------------------------

function decorate(payload, success, key) {
  const descriptors = {};
  const own = (name) => Object.prototype.hasOwnProperty.call(payload, name);
  if (!own("success")) descriptors.success = { value: success, enumerable: false };
  if (!own("failure")) descriptors.failure = { value: !success, enumerable: false };
  if (!own(key)) descriptors[key] = { get: () => payload, enumerable: false };
  Object.defineProperties(payload, descriptors);
  return payload;
}

const ok = (payload) => decorate(payload, true, "value");
const err = (error) => decorate(error, false, "error");

// -- error classes (same names, tags and fields as the library's) ----------------------------

export class NetworkError extends Error {
  _tag = "@error/Network";
  constructor({ message, url }) {
    super();
    this.message = message;
    this.url = url;
  }
}

export class PasskeyUnsupportedError extends Error {
  _tag = "@error/PasskeyUnsupported";
  constructor({ message }) {
    super();
    this.message = message;
  }
}

export class OrphanedPasskeyError extends Error {
  _tag = "@error/OrphanedPasskey";
  constructor({ message, credentialId, rpId }) {
    super();
    this.message = message;
    this.credentialId = credentialId;
    this.rpId = rpId;
  }
}

export class OtherPasskeyError extends Error {
  _tag = "@error/OtherPasskey";
  constructor({ error, message, code, cause }) {
    super();
    this.message = message;
    if (code) this.code = code;
    if (cause !== undefined || error !== undefined) this.cause = cause ?? error;
  }
}

export class DuplicatePasskeyError extends Error {
  _tag = "@error/DuplicatePasskey";
  constructor({ message }) {
    super();
    this.message = message;
  }
}

export class DeleteError extends Error {
  _tag = "@error/Delete";
  constructor({ message, code }) {
    super();
    this.message = message;
    this.code = code;
  }
}

export class UpdateError extends Error {
  _tag = "@error/Update";
  constructor({ message, code }) {
    super();
    this.message = message;
    this.code = code;
  }
}

export class PruningError extends Error {
  _tag = "@error/Pruning";
  constructor({ message, code }) {
    super();
    this.message = message;
    this.code = code;
  }
}

const tagged = (tag) => (payload) =>
  typeof payload === "object" && payload !== null && payload._tag === tag;

export const isNetworkError = (payload) => payload instanceof NetworkError;
export const isPasskeyUnsupportedError = (payload) => payload instanceof PasskeyUnsupportedError;
export const isOrphanedPasskeyError = (payload) => payload instanceof OrphanedPasskeyError;
export const isOtherPasskeyError = (payload) => payload instanceof OtherPasskeyError;
export const isDuplicatePasskeyError = (payload) => payload instanceof DuplicatePasskeyError;
export const isDeleteError = (payload) => payload instanceof DeleteError;
export const isUpdateError = (payload) => payload instanceof UpdateError;
export const isPruningError = (payload) => payload instanceof PruningError;
export const isRegistrationSuccess = tagged("RegistrationSuccess");
export const isAuthenticationSuccess = tagged("AuthenticationSuccess");
export const isDeleteSuccess = tagged("DeleteSuccess");
export const isUpdateSuccess = tagged("UpdateSuccess");
export const isPruningSuccess = tagged("PruningSuccess");

// -- log events ------------------------------------------------------------------------------

export const LogLevel = Object.freeze({ DEBUG: "DEBUG", INFO: "INFO", ERROR: "ERROR", WARN: "WARN" });

export class LogEvent extends Event {
  static name = "PasslockLogEvent";
  #message;
  #level;
  constructor(message, level) {
    super("PasslockLogEvent");
    this.#message = message;
    this.#level = level;
  }
  get message() {
    return this.#message;
  }
  get level() {
    return this.#level;
  }
}

function log(message, level = LogLevel.INFO) {
  if (typeof window !== "undefined") window.dispatchEvent(new LogEvent(message, level));
}

// -- HTTP ------------------------------------------------------------------------------------

class Failure {
  constructor(error) {
    this.error = error;
  }
}

const endpointOf = (options) => options.endpoint || DEFAULT_ENDPOINT;

function isErrorResponse(payload) {
  return (
    typeof payload === "object" &&
    payload !== null &&
    typeof payload.message === "string" &&
    typeof payload._tag === "string"
  );
}

// POST a JSON body; the answer's JSON, or a Failure holding the error the library would give.
async function request(url, payload, label, isExpected, errorPredicate = () => false) {
  const networkError = new NetworkError({ message: "Fetch failed", url: String(url) });
  const parseError = new NetworkError({ message: "Unable to parse JSON response", url: String(url) });
  let response;
  try {
    response = await fetch(url, {
      method: "post",
      headers: { Accept: "application/json", "Content-Type": "application/json" },
      body: JSON.stringify(payload),
    });
  } catch {
    return new Failure(networkError);
  }
  const isJson = response.headers.get("Content-Type") === "application/json";
  if (!response.ok && isJson) {
    let apiError;
    try {
      apiError = await response.json();
    } catch {
      return new Failure(parseError);
    }
    if (errorPredicate(apiError)) return new Failure(apiError);
    if (isErrorResponse(apiError)) {
      return new Failure(new NetworkError({ ...apiError, url: String(url) }));
    }
    return new Failure(parseError);
  }
  if (!response.ok) {
    return new Failure(new NetworkError({ message: await response.text(), url: String(url) }));
  }
  let json;
  try {
    json = await response.json();
  } catch {
    return new Failure(parseError);
  }
  if (isExpected(json)) return json;
  return new Failure(new NetworkError({ message: `Invalid ${label} response`, url: String(url) }));
}

const isOptionsResponse = (payload) =>
  typeof payload === "object" &&
  payload !== null &&
  typeof payload.optionsJSON === "object" &&
  payload.optionsJSON !== null &&
  typeof payload.sessionToken === "string";

const isPasskeyNotFound = (payload) =>
  typeof payload === "object" &&
  payload !== null &&
  payload._tag === "@error/PasskeyNotFound" &&
  typeof payload.message === "string" &&
  typeof payload.credentialId === "string" &&
  typeof payload.rpId === "string";

// -- WebAuthn (what @simplewebauthn/browser 13 does) -----------------------------------------

function toBuffer(base64url) {
  const base64 = base64url.replace(/-/g, "+").replace(/_/g, "/");
  const padded = base64.padEnd(base64.length + ((4 - (base64.length % 4)) % 4), "=");
  return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0)).buffer;
}

function toBase64url(buffer) {
  let text = "";
  for (const byte of new Uint8Array(buffer)) text += String.fromCharCode(byte);
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=/g, "");
}

const toDescriptor = (descriptor) => ({ ...descriptor, id: toBuffer(descriptor.id) });

const browserSupportsWebAuthn = () =>
  typeof globalThis.PublicKeyCredential === "function";

// A new ceremony cancels the one in progress (e.g. a pending autofill request).
let controller = null;
function newAbortSignal() {
  if (controller) {
    const abortError = new Error("Cancelling existing WebAuthn API call for new one");
    abortError.name = "AbortError";
    controller.abort(abortError);
  }
  controller = new AbortController();
  return controller.signal;
}

class WebAuthnError extends Error {
  constructor({ message, code, cause, name }) {
    super(message, { cause });
    this.name = name ?? cause.name;
    this.code = code;
  }
}

const isValidDomain = (hostname) =>
  hostname === "localhost" ||
  /^((xn--[a-z0-9-]+|[a-z0-9]+(-[a-z0-9]+)*)\.)+([a-z]{2,}|xn--[a-z0-9-]+)$/i.test(hostname);

function identifyError(error, options, registration) {
  const { publicKey } = options;
  const name = error && error.name;
  const wrap = (code, message) => new WebAuthnError({ message, code, cause: error });
  if (name === "AbortError") {
    if (options.signal instanceof AbortSignal) {
      const kind = registration ? "Registration" : "Authentication";
      return wrap("ERROR_CEREMONY_ABORTED", `${kind} ceremony was sent an abort signal`);
    }
  } else if (name === "NotAllowedError") {
    return wrap("ERROR_PASSTHROUGH_SEE_CAUSE_PROPERTY", error.message);
  } else if (name === "SecurityError") {
    const domain = globalThis.location.hostname;
    if (!isValidDomain(domain)) return wrap("ERROR_INVALID_DOMAIN", `${domain} is an invalid domain`);
    const rpId = registration ? publicKey.rp.id : publicKey.rpId;
    if (rpId !== domain) return wrap("ERROR_INVALID_RP_ID", `The RP ID "${rpId}" is invalid for this domain`);
  } else if (name === "UnknownError") {
    return wrap("ERROR_AUTHENTICATOR_GENERAL_ERROR", "The authenticator was unable to process the request");
  } else if (registration && name === "InvalidStateError") {
    return wrap("ERROR_AUTHENTICATOR_PREVIOUSLY_REGISTERED", "The authenticator was previously registered");
  } else if (registration && name === "ConstraintError") {
    const selection = publicKey.authenticatorSelection || {};
    if (selection.requireResidentKey === true) {
      return wrap(
        "ERROR_AUTHENTICATOR_MISSING_DISCOVERABLE_CREDENTIAL_SUPPORT",
        "Discoverable credentials were required but no available authenticator supported it",
      );
    }
    if (selection.userVerification === "required") {
      return wrap(
        "ERROR_AUTHENTICATOR_MISSING_USER_VERIFICATION_SUPPORT",
        "User verification was required but no available authenticator supported it",
      );
    }
  } else if (registration && name === "NotSupportedError") {
    const valid = (publicKey.pubKeyCredParams || []).filter((p) => p.type === "public-key");
    if (valid.length === 0) {
      return wrap("ERROR_MALFORMED_PUBKEYCREDPARAMS", 'No entry in pubKeyCredParams was of type "public-key"');
    }
    return wrap(
      "ERROR_AUTHENTICATOR_NO_SUPPORTED_PUBKEYCREDPARAMS_ALG",
      "No available authenticator supported any of the specified pubKeyCredParams algorithms",
    );
  } else if (registration && name === "TypeError") {
    const length = publicKey.user.id.byteLength;
    if (length < 1 || length > 64) {
      return wrap("ERROR_INVALID_USER_ID_LENGTH", "User ID was not between 1 and 64 characters");
    }
  }
  return error;
}

function toOtherPasskeyError(error, registration) {
  if (error instanceof WebAuthnError) {
    if (registration && error.code === "ERROR_AUTHENTICATOR_PREVIOUSLY_REGISTERED") {
      return new DuplicatePasskeyError({ message: error.message });
    }
    return new OtherPasskeyError({ code: error.code, error: error.cause, message: error.message, cause: error.cause });
  }
  return new OtherPasskeyError({ error, message: "Unexpected error" });
}

async function createCredential(optionsJSON) {
  const publicKey = {
    ...optionsJSON,
    challenge: toBuffer(optionsJSON.challenge),
    user: { ...optionsJSON.user, id: toBuffer(optionsJSON.user.id) },
    excludeCredentials: optionsJSON.excludeCredentials?.map(toDescriptor),
  };
  const options = { publicKey, signal: newAbortSignal() };
  let credential;
  try {
    credential = await navigator.credentials.create(options);
  } catch (error) {
    throw identifyError(error, options, true);
  }
  if (!credential) throw new Error("Registration was not completed");
  const { response } = credential;
  const call = (name) => {
    try {
      return typeof response[name] === "function" ? response[name]() : undefined;
    } catch {
      return undefined;
    }
  };
  const publicKeyBytes = call("getPublicKey");
  const authenticatorData = call("getAuthenticatorData");
  return {
    id: credential.id,
    rawId: toBase64url(credential.rawId),
    response: {
      attestationObject: toBase64url(response.attestationObject),
      clientDataJSON: toBase64url(response.clientDataJSON),
      transports: call("getTransports"),
      publicKeyAlgorithm: call("getPublicKeyAlgorithm"),
      publicKey: publicKeyBytes ? toBase64url(publicKeyBytes) : undefined,
      authenticatorData: authenticatorData ? toBase64url(authenticatorData) : undefined,
    },
    type: credential.type,
    clientExtensionResults: credential.getClientExtensionResults(),
    authenticatorAttachment: credential.authenticatorAttachment || undefined,
  };
}

async function getCredential(optionsJSON, useBrowserAutofill) {
  const publicKey = {
    ...optionsJSON,
    challenge: toBuffer(optionsJSON.challenge),
    allowCredentials:
      optionsJSON.allowCredentials?.length !== 0
        ? optionsJSON.allowCredentials?.map(toDescriptor)
        : undefined,
  };
  const options = {};
  if (useBrowserAutofill) {
    if (!(await isAutofillSupport())) throw Error("Browser does not support WebAuthn autofill");
    if (document.querySelectorAll("input[autocomplete$='webauthn']").length < 1) {
      throw Error('No <input> with "webauthn" as the only or last value in its `autocomplete` attribute was detected');
    }
    options.mediation = "conditional";
    publicKey.allowCredentials = [];
  }
  options.publicKey = publicKey;
  options.signal = newAbortSignal();
  let credential;
  try {
    credential = await navigator.credentials.get(options);
  } catch (error) {
    throw identifyError(error, options, false);
  }
  if (!credential) throw new Error("Authentication was not completed");
  const { response } = credential;
  return {
    id: credential.id,
    rawId: toBase64url(credential.rawId),
    response: {
      authenticatorData: toBase64url(response.authenticatorData),
      clientDataJSON: toBase64url(response.clientDataJSON),
      signature: toBase64url(response.signature),
      userHandle: response.userHandle ? toBase64url(response.userHandle) : undefined,
    },
    type: credential.type,
    clientExtensionResults: credential.getClientExtensionResults(),
    authenticatorAttachment: credential.authenticatorAttachment || undefined,
  };
}

// -- ceremonies ------------------------------------------------------------------------------

/**
 * registerPasskey({tenancyId, endpoint?, username, displayName?, excludeCredentials?,
 *                  userVerification?, timeout?, onEvent?})
 * -> {_tag: "RegistrationSuccess", principal: {authenticatorId, userId}, id_token, code}
 */
export async function registerPasskey(options) {
  const onEvent = options.onEvent;
  const endpoint = endpointOf(options);
  onEvent?.("optionsRequest");
  log("Fetching passkey registration options from Passlock");
  const started = await request(
    new URL(`${options.tenancyId}/passkey/registration/options`, endpoint),
    {
      excludeCredentials: options.excludeCredentials,
      timeout: options.timeout,
      displayName: options.displayName,
      username: options.username,
      userVerification: options.userVerification,
    },
    "registration options",
    isOptionsResponse,
  );
  if (started instanceof Failure) return err(started.error);
  onEvent?.("createCredential");
  log("Registering passkey on device");
  if (!browserSupportsWebAuthn()) {
    return err(new PasskeyUnsupportedError({ message: "Device does not support passkeys" }));
  }
  let response;
  try {
    response = await createCredential(started.optionsJSON);
  } catch (error) {
    return err(toOtherPasskeyError(error, true));
  }
  onEvent?.("saveCredential");
  log("Registering passkey in Passlock vault");
  const saved = await request(
    new URL(`${options.tenancyId}/passkey/registration/verification`, endpoint),
    { response, sessionToken: started.sessionToken },
    "registration verification",
    isRegistrationSuccess,
  );
  if (saved instanceof Failure) return err(saved.error);
  log(`Passkey registered with id ${saved.principal.authenticatorId}`);
  return ok(saved);
}

/**
 * authenticatePasskey({tenancyId, endpoint?, allowCredentials?, userVerification?, rpId?,
 *                      autofill?, timeout?, onEvent?})
 * -> {_tag: "AuthenticationSuccess", principal: {authenticatorId, userId}, id_token, code}
 */
export async function authenticatePasskey(options) {
  const onEvent = options.onEvent;
  const endpoint = endpointOf(options);
  onEvent?.("optionsRequest");
  log("Fetching passkey authentication options from Passlock");
  const started = await request(
    new URL(`${options.tenancyId}/passkey/authentication/options`, endpoint),
    {
      allowCredentials: options.allowCredentials,
      userVerification: options.userVerification,
      rpId: options.rpId,
      timeout: options.timeout,
    },
    "authentication options",
    isOptionsResponse,
  );
  if (started instanceof Failure) return err(started.error);
  const autofill = options.autofill === true;
  if (autofill) await new Promise((resolve) => setTimeout(resolve, 100));
  onEvent?.("getCredential");
  log("Requesting passkey authentication on device");
  if (!browserSupportsWebAuthn()) {
    return err(new PasskeyUnsupportedError({ message: "Device does not support passkeys" }));
  }
  let response;
  try {
    response = await getCredential(started.optionsJSON, autofill);
  } catch (error) {
    return err(toOtherPasskeyError(error, false));
  }
  onEvent?.("verifyCredential"); // the library reports this step twice
  onEvent?.("verifyCredential");
  log("Verifying passkey in Passlock vault");
  const verified = await request(
    new URL(`${options.tenancyId}/passkey/authentication/verification`, endpoint),
    { response, sessionToken: started.sessionToken },
    "authentication verification",
    isAuthenticationSuccess,
    isPasskeyNotFound,
  );
  if (verified instanceof Failure) {
    const error = verified.error;
    if (isPasskeyNotFound(error) && !(error instanceof Error)) {
      return err(new OrphanedPasskeyError(error));
    }
    return err(error);
  }
  log(`Passkey with id ${verified.principal.authenticatorId} successfully authenticated`);
  return ok(verified);
}

/** Whether this browser has WebAuthn at all. */
export const isPasskeySupport = () => browserSupportsWebAuthn();

/** Whether this browser supports passkey autofill (conditional mediation). */
export async function isAutofillSupport() {
  if (!browserSupportsWebAuthn()) return false;
  if (globalThis.PublicKeyCredential.isConditionalMediationAvailable === undefined) return false;
  return globalThis.PublicKeyCredential.isConditionalMediationAvailable();
}

// -- WebAuthn Signal API helpers -------------------------------------------------------------

// Truthy when supported (as in the library: `undefined`, not `false`, when it is missing).
const hasSignal = (name) =>
  globalThis.PublicKeyCredential?.[name] && typeof globalThis.PublicKeyCredential[name] === "function";

/** Whether the browser can be told to forget a passkey. */
export const isPasskeyDeleteSupport = () => hasSignal("signalUnknownCredential");
/** Whether the browser can be told the list of accepted passkeys. */
export const isPasskeyPruningSupport = () => hasSignal("signalAllAcceptedCredentials");
/** Whether the browser can be told a passkey's new username. */
export const isPasskeyUpdateSupport = () => hasSignal("signalCurrentUserDetails");

const isCredential = (payload) =>
  typeof payload === "object" &&
  payload !== null &&
  typeof payload.credentialId === "string" &&
  typeof payload.userId === "string" &&
  typeof payload.rpId === "string";

// GET /{tenancyId}/credential/{passkeyId}: the credential, or an error of class ErrorClass.
// A fetch or JSON failure rejects (the library lets such defects escape its promise).
async function lookUpCredential(options, ErrorClass) {
  log("Fetching passkey credential and rp id");
  const url = new URL(`${options.tenancyId}/credential/${options.passkeyId}`, endpointOf(options));
  const response = await fetch(url);
  if (response.status === 404) {
    return new Failure(new ErrorClass({ code: "OTHER_ERROR", message: "Unable to find the metadata associated with this passkey" }));
  }
  const credential = await response.json();
  if (!isCredential(credential)) {
    return new Failure(new ErrorClass({ code: "OTHER_ERROR", message: "Invalid metadata associated with this passkey" }));
  }
  return credential;
}

function fireAndForget(promise, warning) {
  promise.catch((error) => log(error instanceof Error ? error.message : warning, LogLevel.WARN));
}

function signalRemoval(credential) {
  log("Signalling browser to remove passkey");
  fireAndForget(
    Promise.resolve().then(() => PublicKeyCredential.signalUnknownCredential(credential)),
    "Unable to signal credential removal",
  );
  log("Passkey removed");
  return ok({ _tag: "DeleteSuccess" });
}

function signalDetails(credential, updates) {
  const { username: name, displayName = updates.username } = updates;
  log("Signalling browser to update passkey");
  fireAndForget(
    Promise.resolve().then(() =>
      PublicKeyCredential.signalCurrentUserDetails({ ...credential, name, displayName }),
    ),
    "Unable to signal credential update",
  );
  log("Passkey updated");
  return ok({ _tag: "UpdateSuccess" });
}

const deletionUnsupported = () =>
  err(new DeleteError({ code: "PASSKEY_DELETION_UNSUPPORTED", message: "Passkey deletion not supported on this device" }));
const updateUnsupported = () =>
  err(new UpdateError({ code: "PASSKEY_UPDATE_UNSUPPORTED", message: "Passkey update not supported on this device" }));

/**
 * deletePasskey({tenancyId, passkeyId, endpoint?} | {credentialId, userId, rpId} |
 *               an @error/OrphanedPasskey) -> {_tag: "DeleteSuccess"}
 */
export async function deletePasskey(options) {
  if (!isPasskeyDeleteSupport()) return deletionUnsupported();
  const credential = "rpId" in options ? options : await lookUpCredential(options, DeleteError);
  if (credential instanceof Failure) return err(credential.error);
  return signalRemoval(credential);
}

/** deleteUserPasskeys([{credentialId, userId, rpId}, ...]) -> {_tag: "DeleteSuccess"} */
export async function deleteUserPasskeys(credentials) {
  if (!isPasskeyDeleteSupport()) return deletionUnsupported();
  for (const credential of credentials) signalRemoval(credential);
  return ok({ _tag: "DeleteSuccess" });
}

/**
 * updatePasskey({tenancyId, passkeyId, username, displayName?, endpoint?} |
 *               {userId, rpId, username, displayName?}) -> {_tag: "UpdateSuccess"}
 */
export async function updatePasskey(options) {
  if (!isPasskeyUpdateSupport()) return updateUnsupported();
  const credential = "rpId" in options ? options : await lookUpCredential(options, UpdateError);
  if (credential instanceof Failure) return err(credential.error);
  return signalDetails(credential, options);
}

/** updatePasskeyUsernames([{userId, rpId, username, displayName?}, ...]) -> UpdateSuccess */
export async function updatePasskeyUsernames(credentials) {
  if (!isPasskeyUpdateSupport()) return updateUnsupported();
  for (const credential of credentials) signalDetails(credential, credential);
  return ok({ _tag: "UpdateSuccess" });
}

/**
 * prunePasskeys({tenancyId, allowablePasskeyIds, endpoint?}) -> {_tag: "PruningSuccess"}:
 * tells the device which of the user's passkeys still exist.
 */
export async function prunePasskeys(options) {
  if (!isPasskeyPruningSupport()) {
    return err(new PruningError({ code: "PASSKEY_PRUNING_UNSUPPORTED", message: "Passkey pruning not supported on this device" }));
  }
  const ids = options.allowablePasskeyIds.map(encodeURIComponent).join(",");
  const response = await fetch(new URL(`${options.tenancyId}/credentials/${ids}`, endpointOf(options)));
  if (response.status === 404) {
    return err(new PruningError({ code: "OTHER_ERROR", message: "Unable to find the metadata associated with these passkeys" }));
  }
  const credentials = await response.json();
  if (typeof credentials?.rpId !== "string" || !Array.isArray(credentials.allAcceptedCredentialIds)) {
    return err(new PruningError({ code: "OTHER_ERROR", message: "Invalid metadata associated with one or more passkeys" }));
  }
  try {
    await PublicKeyCredential.signalAllAcceptedCredentials(credentials);
  } catch (error) {
    log(error instanceof Error ? error.message : "Unable to signal accepted credentials", LogLevel.WARN);
  }
  return ok({ _tag: "PruningSuccess" });
}
