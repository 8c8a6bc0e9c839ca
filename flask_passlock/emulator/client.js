// Passlock emulator client: the same functions, arguments and results as
// @passlock/client/safe (2.4.x), talking to this emulator. Every function resolves to a
// tagged object (never throws): a success tag, or an "@error/..." tag with a message.

const DEFAULT_ENDPOINT = new URL("./", import.meta.url).href;

const fail = (tag, message, extra = {}) => ({ _tag: tag, message, ...extra });

// A new ceremony cancels the one in progress (e.g. a pending autofill request).
let pending = null;
function newCeremony() {
  if (pending) pending.abort();
  pending = new AbortController();
  return pending.signal;
}

function endpointOf(options) {
  const endpoint = options.endpoint || DEFAULT_ENDPOINT;
  return endpoint.endsWith("/") ? endpoint : `${endpoint}/`;
}

async function post(options, path, body) {
  const url = new URL(`${options.tenancyId}/${path}`, endpointOf(options));
  let response;
  try {
    response = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
  } catch (error) {
    return { error: fail("@error/Network", `Request to ${url} failed: ${error}`, { url: String(url) }) };
  }
  let data;
  try {
    data = await response.json();
  } catch {
    return { error: fail("@error/Network", `Invalid answer from ${url}`, { url: String(url) }) };
  }
  if (response.ok) return { data };
  if (data && data._tag === "@error/PasskeyNotFound") {
    return {
      error: fail("@error/OrphanedPasskey", data.message, {
        credentialId: data.credentialId,
        rpId: data.rpId,
      }),
    };
  }
  return { error: fail("@error/Network", (data && data.message) || `HTTP ${response.status}`, { url: String(url) }) };
}

function unsupported() {
  return typeof window === "undefined" || !window.PublicKeyCredential || !navigator.credentials;
}

function ceremonyError(error, duplicateTag) {
  const name = error && error.name;
  if (name === "InvalidStateError" && duplicateTag) {
    return fail(duplicateTag, "A passkey for this account already exists on this device");
  }
  if (name === "NotSupportedError") return fail("@error/PasskeyUnsupported", String(error.message));
  if (name === "NotAllowedError" || name === "AbortError") {
    return fail("@error/OtherPasskey", "The operation was cancelled or timed out", {
      code: "ERROR_CEREMONY_ABORTED",
      cause: name,
    });
  }
  return fail("@error/OtherPasskey", String((error && error.message) || error), {
    code: name || "ERROR_UNKNOWN",
  });
}

/**
 * registerPasskey({tenancyId, endpoint?, username, displayName?, excludeCredentials?,
 *                  userVerification?, timeout?, onEvent?})
 * -> {_tag: "RegistrationSuccess", principal: {authenticatorId, userId}, id_token, code}
 */
export async function registerPasskey(options) {
  if (unsupported()) return fail("@error/PasskeyUnsupported", "Passkeys are not supported here");
  const onEvent = options.onEvent || (() => {});
  onEvent("optionsRequest");
  const started = await post(options, "passkey/registration/options", {
    username: options.username,
    displayName: options.displayName,
    excludeCredentials: options.excludeCredentials,
    userVerification: options.userVerification,
    timeout: options.timeout,
  });
  if (started.error) return started.error;
  onEvent("createCredential");
  let credential;
  try {
    const publicKey = PublicKeyCredential.parseCreationOptionsFromJSON(started.data.optionsJSON);
    credential = await navigator.credentials.create({ publicKey, signal: newCeremony() });
  } catch (error) {
    return ceremonyError(error, "@error/DuplicatePasskey");
  }
  onEvent("saveCredential");
  const saved = await post(options, "passkey/registration/verification", {
    response: credential.toJSON(),
    sessionToken: started.data.sessionToken,
  });
  return saved.error || saved.data;
}

/**
 * authenticatePasskey({tenancyId, endpoint?, allowCredentials?, userVerification?,
 *                      autofill?, timeout?, onEvent?})
 * -> {_tag: "AuthenticationSuccess", principal: {authenticatorId, userId}, id_token, code}
 */
export async function authenticatePasskey(options) {
  if (unsupported()) return fail("@error/PasskeyUnsupported", "Passkeys are not supported here");
  const onEvent = options.onEvent || (() => {});
  onEvent("optionsRequest");
  const started = await post(options, "passkey/authentication/options", {
    allowCredentials: options.allowCredentials,
    userVerification: options.userVerification,
    timeout: options.timeout,
  });
  if (started.error) return started.error;
  onEvent("getCredential");
  let credential;
  try {
    const publicKey = PublicKeyCredential.parseRequestOptionsFromJSON(started.data.optionsJSON);
    const request = { publicKey, signal: newCeremony() };
    if (options.autofill) request.mediation = "conditional";
    credential = await navigator.credentials.get(request);
  } catch (error) {
    return ceremonyError(error, null);
  }
  onEvent("verifyCredential");
  const verified = await post(options, "passkey/authentication/verification", {
    response: credential.toJSON(),
    sessionToken: started.data.sessionToken,
  });
  return verified.error || verified.data;
}

/** Whether this browser can create passkeys at all. */
export const isPasskeySupport = () => !unsupported();

/** Whether this browser supports passkey autofill (conditional mediation). */
export async function isAutofillSupport() {
  if (unsupported() || !PublicKeyCredential.isConditionalMediationAvailable) return false;
  return PublicKeyCredential.isConditionalMediationAvailable();
}

async function credentialOf(options) {
  if (options.credentialId && options.rpId) return options;
  if (!options.tenancyId || !options.passkeyId) return null;
  const url = new URL(`${options.tenancyId}/credential/${encodeURIComponent(options.passkeyId)}`, endpointOf(options));
  try {
    const response = await fetch(url);
    return response.ok ? await response.json() : null;
  } catch {
    return null;
  }
}

/** Whether the browser can be told to forget a passkey (WebAuthn Signal API). */
export const isPasskeyDeleteSupport = () =>
  typeof PublicKeyCredential !== "undefined" && !!PublicKeyCredential.signalUnknownCredential;

/** Whether the browser can be told a passkey's new username (WebAuthn Signal API). */
export const isPasskeyUpdateSupport = () =>
  typeof PublicKeyCredential !== "undefined" && !!PublicKeyCredential.signalCurrentUserDetails;

/**
 * deletePasskey({tenancyId, passkeyId, endpoint?} | {credentialId, userId, rpId} | orphaned error)
 * -> {_tag: "DeleteSuccess"}: tells the device to forget the credential.
 */
export async function deletePasskey(options) {
  if (!isPasskeyDeleteSupport()) return fail("@error/PasskeyUnsupported", "Signal API not supported");
  const credential = await credentialOf(options);
  if (!credential) return fail("@error/Network", "Passkey not found");
  try {
    await PublicKeyCredential.signalUnknownCredential({
      rpId: credential.rpId,
      credentialId: credential.credentialId,
    });
  } catch (error) {
    return fail("@error/OtherPasskey", String(error), { code: "ERROR_SIGNAL" });
  }
  return { _tag: "DeleteSuccess" };
}

/**
 * updatePasskey({tenancyId, passkeyId, username, displayName?, endpoint?} |
 *               {userId, rpId, username, displayName?}) -> {_tag: "UpdateSuccess"}
 */
export async function updatePasskey(options) {
  if (!isPasskeyUpdateSupport()) return fail("@error/PasskeyUnsupported", "Signal API not supported");
  const credential = options.userId && options.rpId ? options : await credentialOf(options);
  if (!credential) return fail("@error/Network", "Passkey not found");
  try {
    await PublicKeyCredential.signalCurrentUserDetails({
      rpId: credential.rpId,
      userId: credential.userId,
      name: options.username,
      displayName: options.displayName || options.username,
    });
  } catch (error) {
    return fail("@error/OtherPasskey", String(error), { code: "ERROR_SIGNAL" });
  }
  return { _tag: "UpdateSuccess" };
}
