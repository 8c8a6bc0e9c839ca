// Flask-Passlock browser glue, loaded by the macros in passlock/macros.html.
//
// It runs the Passlock client module's ceremonies (registerPasskey / authenticatePasskey of
// @passlock/client/safe, @passlock/browser/safe or the emulator's stand-in) and posts the
// resulting code and id_token to the app. Forms are found by data-passlock: "register",
// "signup", "login", "verify" and "delete"; <time data-passlock-relative> elements are shown
// as relative times ("2 minutes ago").
//
// Events (bubbling, on the form): passlock:<kind>-start, passlock:<kind>-complete and
// passlock:<kind>-failed; a failure's event.detail has `stage` ("passkey" or "server"),
// `reason` (below), the library's `tag`, the server's `code` and the `message` shown.
//
// A ceremony that did not finish is explained by its cause, each with its own sentence (from
// the page's catalogue, PASSLOCK_MESSAGES "js.*"): `cancelled`, `not_allowed` (refused, or
// user verification failed), `timed_out`, `no_passkey` (this device has none of the passkeys
// asked for), `unsupported` (no WebAuthn), `device_unsupported`, `ip_address`,
// `wrong_domain`, `duplicate`, `network`, `orphaned`, `client_unavailable`, `failed`.
// Browsers report most of these as one NotAllowedError, so the glue looks at when it came:
// at the timeout (timed out), after a person had time to act (cancelled), or at once, which
// no person can do: then the device refused by itself, and for a sign-in a quiet second
// request with no user verification tells "no passkey here" from "verification failed".

const readJson = (id) => {
  const element = document.getElementById(id);
  try {
    return element ? JSON.parse(element.textContent) : null;
  } catch {
    return null;
  }
};

const config = readJson("passlock-config");
const messages = { ...(readJson("passlock-messages") || {}), ...(config?.messages || {}) };

/** A ceremony failing faster than this (ms) was not a person's doing. */
const INSTANT = 1000;
/** Default WebAuthn timeout (ms), sent to Passlock; a form's data-timeout overrides it. */
const DEFAULT_TIMEOUT = 60_000;
/** Show the "nothing happening?" hint after this long (ms) at most. */
const HINT_AFTER = 8_000;

function t(key, fields = {}) {
  const text = messages[key] ?? messages.failed ?? key;
  return String(text).replace(/\{(\w+)\}/g, (match, name) => (name in fields ? String(fields[name]) : match));
}

let clientModule;
function loadClient() {
  clientModule ??= import(config.clientUrl);
  return clientModule;
}

// -- status line, hint and events -------------------------------------------------------------

function statusOf(form) {
  return form.querySelector(".passlock-status");
}

// Show `message` (and links: [{href, text}]) in the form's aria-live status line.
function setStatus(form, state, message, links = []) {
  const status = statusOf(form);
  form.dataset.status = state;
  if (!status) return;
  status.dataset.status = state;
  status.replaceChildren(document.createTextNode(message));
  for (const link of links) {
    const anchor = document.createElement("a");
    anchor.href = link.href;
    anchor.textContent = link.text;
    anchor.className = "passlock-status-link";
    status.append(" ", anchor);
  }
}

function fallbackLink(form) {
  const href = form.dataset.fallbackUrl;
  return href ? [{ href, text: form.dataset.fallbackLabel || t("other_way") }] : [];
}

function showHint(form) {
  let hint = form.querySelector(".passlock-hint");
  if (!hint) {
    hint = document.createElement("p");
    hint.className = "passlock-hint";
    statusOf(form)?.after(hint);
  }
  hint.replaceChildren(document.createTextNode(t("hint")));
  for (const link of fallbackLink(form)) {
    const anchor = document.createElement("a");
    anchor.href = link.href;
    anchor.textContent = link.text;
    hint.append(" ", anchor);
  }
  hint.hidden = false;
}

function hideHint(form) {
  const hint = form.querySelector(".passlock-hint");
  if (hint) hint.hidden = true;
}

function emit(form, name, detail) {
  form.dispatchEvent(new CustomEvent(`passlock:${name}`, { bubbles: true, detail }));
}

// -- the browser and the address -----------------------------------------------------------

const LOOPBACK = /^(127(\.\d{1,3}){3}|\[::1\]|0\.0\.0\.0)$/;

function isIpAddress(hostname) {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(hostname) || hostname.startsWith("[");
}

// A problem that stops every ceremony on this page before it starts, or null.
function pageProblem() {
  const host = window.location.hostname;
  if (isIpAddress(host)) {
    const links = [];
    if (LOOPBACK.test(host)) {
      const here = new URL(window.location.href);
      here.hostname = "localhost";
      links.push({ href: here.href, text: t("open_on_localhost") });
    }
    return { reason: "ip_address", message: t("ip_address", { host }), links };
  }
  if (!window.PublicKeyCredential || !navigator.credentials?.create || !navigator.credentials?.get) {
    return { reason: "unsupported", message: t("unsupported"), links: [] };
  }
  return null;
}

// -- why a ceremony failed -------------------------------------------------------------------

function toBuffer(base64url) {
  const base64 = base64url.replace(/-/g, "+").replace(/_/g, "/");
  const padded = base64.padEnd(base64.length + ((4 - (base64.length % 4)) % 4), "=");
  return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0)).buffer;
}

async function credentialOf(passkeyId) {
  const url = new URL(`${config.tenancyId}/credential/${encodeURIComponent(passkeyId)}`, config.endpoint);
  try {
    const response = await fetch(url);
    const data = response.ok ? await response.json() : null;
    return typeof data?.credentialId === "string" ? data : null;
  } catch {
    return null;
  }
}

// Does this device hold one of `passkeyIds` (or, with none, any passkey for this site)?
// Asked right after the device refused at once: a request without user verification
// succeeds at once when it does, and fails at once when it doesn't. null: can't tell.
async function deviceHasPasskey(passkeyIds) {
  const publicKey = {
    challenge: crypto.getRandomValues(new Uint8Array(32)),
    userVerification: "discouraged",
    timeout: 5000,
  };
  if (passkeyIds?.length) {
    const found = (await Promise.all(passkeyIds.slice(0, 20).map(credentialOf))).filter(Boolean);
    if (!found.length) return null;
    publicKey.rpId = found[0].rpId;
    publicKey.allowCredentials = found.map((c) => ({ type: "public-key", id: toBuffer(c.credentialId) }));
  }
  const started = performance.now();
  try {
    await navigator.credentials.get({ publicKey, signal: AbortSignal.timeout(5000) });
    return true;
  } catch (error) {
    if (error?.name === "NotAllowedError" && performance.now() - started < INSTANT) return false;
    return null;
  }
}

// The reason a ceremony failed, from the library's result (or what it threw).
async function explain(result, attempt) {
  const tag = result?._tag;
  if (tag === "@error/DuplicatePasskey") return "duplicate";
  if (tag === "@error/PasskeyUnsupported") return "unsupported";
  if (tag === "@error/Network") return "network";
  if (tag === "@error/OrphanedPasskey") return "orphaned";
  const cause = result?.cause ?? result;
  const name = cause?.name || result?.name;
  const code = String(result?.code || "");
  if (code === "ERROR_CEREMONY_ABORTED" || name === "AbortError") return "cancelled";
  if (name === "InvalidStateError" && attempt.registering) return "duplicate";
  if (code === "ERROR_INVALID_DOMAIN" || code === "ERROR_INVALID_RP_ID" || name === "SecurityError") {
    return isIpAddress(window.location.hostname) ? "ip_address" : "wrong_domain";
  }
  if (
    name === "NotSupportedError" ||
    name === "ConstraintError" ||
    code.startsWith("ERROR_AUTHENTICATOR_MISSING") ||
    code === "ERROR_AUTHENTICATOR_NO_SUPPORTED_PUBKEYCREDPARAMS_ALG"
  ) {
    return "device_unsupported";
  }
  if (!window.PublicKeyCredential || !navigator.credentials) return "unsupported";
  if (name !== "NotAllowedError") return "failed";
  const elapsed = attempt.prompted == null ? Infinity : performance.now() - attempt.prompted;
  if (elapsed >= attempt.timeout * 0.9) return "timed_out";
  if (elapsed >= INSTANT) return "cancelled";
  if (attempt.registering) return "not_allowed";
  return (await deviceHasPasskey(attempt.allow)) === false ? "no_passkey" : "not_allowed";
}

function failure(reason, form) {
  if (reason === "ip_address") return pageProblem() || { reason, message: t("ip_address"), links: [] };
  const links = ["timed_out", "no_passkey", "cancelled"].includes(reason) ? fallbackLink(form) : [];
  return { reason, message: t(reason), links };
}

async function forgetOrphan(result) {
  // Tell the device to forget a passkey Passlock no longer knows (WebAuthn Signal API).
  try {
    const client = await loadClient();
    if (client.deletePasskey) await client.deletePasskey(result);
  } catch {
    // best effort
  }
}

// -- talking to the app ----------------------------------------------------------------------

async function postToApp(url, body) {
  const headers = { "Content-Type": "application/json", Accept: "application/json" };
  if (config.csrfToken) headers[config.csrfHeader || "X-CSRFToken"] = config.csrfToken;
  let response;
  try {
    response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers,
      body: JSON.stringify(body),
    });
  } catch {
    return { ok: false, detail: t("server_unreachable") };
  }
  let data = null;
  try {
    data = await response.json();
  } catch {
    // not JSON: fall through to a generic message
  }
  if (response.ok) return { ok: true, data: data || {} };
  return {
    ok: false,
    code: data && data.code,
    detail: (data && data.detail) || t("server_status", { status: response.status }),
  };
}

function jsonAttribute(form, name) {
  try {
    const value = JSON.parse(form.dataset[name] || "[]");
    return Array.isArray(value) && value.length ? value : undefined;
  } catch {
    return undefined;
  }
}

function timeoutOf(form) {
  const value = Number(form.dataset.timeout);
  return Number.isFinite(value) && value >= 1000 ? value : DEFAULT_TIMEOUT;
}

// -- one ceremony, then one POST to the app ------------------------------------------------

const busy = new WeakSet();

async function run(form, kind, ceremony, extraBody = {}) {
  if (busy.has(form)) return;
  const problem = pageProblem();
  if (problem) {
    setStatus(form, "error", problem.message, problem.links);
    emit(form, `${kind}-failed`, { stage: "passkey", reason: problem.reason, message: problem.message });
    return;
  }
  busy.add(form);
  const button = form.querySelector("button[type=submit], button:not([type])");
  if (button) button.disabled = true;
  form.setAttribute("aria-busy", "true");
  emit(form, `${kind}-start`, {});
  setStatus(form, "working", t("starting"));
  const registering = kind === "register" || kind === "signup";
  const attempt = { registering, timeout: timeoutOf(form), prompted: null, allow: undefined };
  let hintTimer;
  const onEvent = (name) => {
    setStatus(form, "working", t(`progress.${name}` in messages ? `progress.${name}` : "working"));
    if (name === "createCredential" || name === "getCredential") {
      attempt.prompted = performance.now();
      hintTimer = setTimeout(() => showHint(form), Math.min(HINT_AFTER, attempt.timeout / 2));
    } else {
      clearTimeout(hintTimer);
      hideHint(form);
    }
  };
  try {
    let client;
    try {
      client = await loadClient();
    } catch {
      const message = t("client_unavailable");
      setStatus(form, "error", message);
      emit(form, `${kind}-failed`, { stage: "passkey", reason: "client_unavailable", message });
      return;
    }
    let result;
    try {
      result = await ceremony(client, onEvent, attempt);
    } catch (error) {
      result = error; // the non-safe entry point throws
    }
    clearTimeout(hintTimer);
    hideHint(form);
    const success = registering ? "RegistrationSuccess" : "AuthenticationSuccess";
    if (!result || result._tag !== success) {
      if (result && result._tag === "@error/OrphanedPasskey") forgetOrphan(result);
      const { reason, message, links } = failure(await explain(result, attempt), form);
      setStatus(form, "error", message, links);
      emit(form, `${kind}-failed`, { stage: "passkey", reason, tag: result && result._tag, message });
      return;
    }
    setStatus(form, "working", t("almost_done"));
    // One proof of the ceremony: the id_token (checked by the server with no call to
    // Passlock), or the code when the server exchanges codes.
    const proof = config.accept === "code" ? { code: result.code } : { id_token: result.id_token };
    const answer = await postToApp(form.action, { ...proof, ...extraBody });
    if (!answer.ok) {
      setStatus(form, "error", answer.detail);
      emit(form, `${kind}-failed`, { stage: "server", reason: "server", code: answer.code, message: answer.detail });
      return;
    }
    setStatus(form, "success", t("done"));
    emit(form, `${kind}-complete`, answer.data);
    if (answer.data.redirect && form.dataset.redirect !== "false") {
      window.location.assign(answer.data.redirect);
    }
  } finally {
    clearTimeout(hintTimer);
    busy.delete(form);
    form.removeAttribute("aria-busy");
    if (button) button.disabled = false;
  }
}

function fieldOf(form, name) {
  return (form.elements[name]?.value || "").trim();
}

function setUpRegister(form, kind) {
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const username = fieldOf(form, "username");
    if (!username) {
      setStatus(form, "error", t("need_username"));
      form.elements.username?.focus();
      return;
    }
    const ceremony = (client, onEvent, attempt) =>
      client.registerPasskey({
        tenancyId: config.tenancyId,
        endpoint: config.endpoint,
        username,
        excludeCredentials: jsonAttribute(form, "exclude"),
        timeout: attempt.timeout,
        onEvent,
      });
    const extra = kind === "signup" ? { username } : {};
    const label = fieldOf(form, "label");
    if (label) extra.label = label;
    if (kind !== "signup") {
      run(form, kind, ceremony, extra);
      return;
    }
    // Ask first whether the username can be had, so no passkey is made for a name the
    // server will refuse.
    postToApp(form.action, { username }).then((answer) => {
      if (!answer.ok) {
        setStatus(form, "error", answer.detail);
        emit(form, "signup-failed", { stage: "server", reason: "server", code: answer.code, message: answer.detail });
        form.elements.username?.focus();
        return;
      }
      run(form, kind, ceremony, extra);
    });
  });
}

function authenticate(client, onEvent, extra) {
  return client.authenticatePasskey({ tenancyId: config.tenancyId, endpoint: config.endpoint, onEvent, ...extra });
}

function setUpLogin(form) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (busy.has(form)) return;
    const username = fieldOf(form, "username");
    let allowCredentials;
    if (username && form.dataset.options && !pageProblem()) {
      const answer = await postToApp(form.dataset.options, { username });
      if (answer.ok && answer.data.allowCredentials?.length) allowCredentials = answer.data.allowCredentials;
    }
    run(form, "login", (client, onEvent, attempt) => {
      attempt.allow = allowCredentials;
      return authenticate(client, onEvent, { allowCredentials, timeout: attempt.timeout });
    });
  });
  if (form.dataset.autofill === "true") startAutofill(form);
}

async function startAutofill(form) {
  if (pageProblem()) return;
  if (!window.PublicKeyCredential?.isConditionalMediationAvailable) return;
  if (!(await PublicKeyCredential.isConditionalMediationAvailable())) return;
  let result;
  try {
    const client = await loadClient();
    result = await authenticate(client, () => {}, { autofill: true });
  } catch {
    return;
  }
  if (!result || result._tag !== "AuthenticationSuccess") {
    // cancelled, or replaced by a click; an orphaned passkey picked from the list is forgotten
    if (result && result._tag === "@error/OrphanedPasskey") {
      forgetOrphan(result);
      setStatus(form, "error", t("orphaned"));
    }
    return;
  }
  run(form, "login", async () => result);
}

function setUpVerify(form) {
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const allowCredentials = jsonAttribute(form, "allow");
    run(form, "verify", (client, onEvent, attempt) => {
      attempt.allow = allowCredentials;
      return authenticate(client, onEvent, {
        allowCredentials,
        userVerification: "required",
        timeout: attempt.timeout,
      });
    });
  });
}

// -- managing passkeys -----------------------------------------------------------------------

function alertOf(form) {
  const list = form.closest("[data-passlock-list]");
  return (list && list.querySelector(".passlock-alert")) || document.querySelector(".passlock-alert");
}

function setUpDelete(form) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (busy.has(form)) return;
    if (!window.confirm(t("confirm_delete"))) return;
    const alert = alertOf(form);
    const button = form.querySelector("button");
    busy.add(form);
    if (button) button.disabled = true;
    if (alert) {
      alert.dataset.status = "working";
      alert.textContent = t("deleting");
    }
    try {
      const answer = await postToApp(form.action, {});
      if (!answer.ok) {
        if (alert) {
          alert.dataset.status = "error";
          alert.textContent = answer.detail;
        }
        emit(form, "delete-failed", { stage: "server", code: answer.code, message: answer.detail });
        return;
      }
      emit(form, "delete-complete", answer.data);
      if (answer.data.credential) {
        try {
          const client = await loadClient();
          if (client.deletePasskey) await client.deletePasskey(answer.data.credential);
        } catch {
          // the Signal API is optional
        }
      }
      window.location.assign(answer.data.redirect || window.location.href);
    } finally {
      busy.delete(form);
      if (button) button.disabled = false;
    }
  });
}

// -- times -----------------------------------------------------------------------------------

const UNITS = [
  ["year", 365 * 24 * 3600],
  ["month", 30 * 24 * 3600],
  ["week", 7 * 24 * 3600],
  ["day", 24 * 3600],
  ["hour", 3600],
  ["minute", 60],
];

function showRelativeTimes() {
  const language = document.documentElement.lang || undefined;
  let relative;
  let absolute;
  try {
    relative = new Intl.RelativeTimeFormat(language, { numeric: "auto" });
    absolute = new Intl.DateTimeFormat(language, { dateStyle: "full", timeStyle: "long" });
  } catch {
    return; // keep the server's dates
  }
  for (const element of document.querySelectorAll("time[data-passlock-relative]")) {
    const date = new Date(element.dateTime);
    if (Number.isNaN(date.getTime())) continue;
    const seconds = (date.getTime() - Date.now()) / 1000;
    const unit = UNITS.find(([, size]) => Math.abs(seconds) >= size);
    element.textContent = unit ? relative.format(Math.round(seconds / unit[1]), unit[0]) : t("now");
    element.title = absolute.format(date);
  }
}

// What the server asked to tell the device (WebAuthn Signal API): forget passkeys deleted
// elsewhere, show a user's new name. Best effort: browsers without the Signal API skip it.
async function tellTheDevice(items) {
  if (!items || !items.length) return;
  let client;
  try {
    client = await loadClient();
  } catch {
    return;
  }
  for (const item of items) {
    try {
      const credential = { credentialId: item.credentialId, userId: item.userId, rpId: item.rpId };
      if (item.op === "forget" && client.deletePasskey) await client.deletePasskey(credential);
      if (item.op === "rename" && client.updatePasskey) {
        await client.updatePasskey({ userId: item.userId, rpId: item.rpId, username: item.username, displayName: item.username });
      }
    } catch {
      // the Signal API is optional
    }
  }
}

// -- start -----------------------------------------------------------------------------------

showRelativeTimes();
setInterval(showRelativeTimes, 60_000);

if (config) {
  tellTheDevice(config.device);
  const problem = pageProblem();
  for (const form of document.querySelectorAll("form[data-passlock]")) {
    const kind = form.dataset.passlock;
    if (form.dataset.passlockReady) continue;
    form.dataset.passlockReady = "true";
    if (kind === "register" || kind === "signup") setUpRegister(form, kind);
    else if (kind === "login") setUpLogin(form);
    else if (kind === "verify") setUpVerify(form);
    else if (kind === "delete") setUpDelete(form);
    if (problem && kind !== "delete") setStatus(form, "error", problem.message, problem.links);
  }
}
