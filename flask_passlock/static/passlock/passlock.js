// Flask-Passlock browser glue, loaded by the macros in passlock/macros.html.
// It runs the Passlock client module's ceremonies (registerPasskey / authenticatePasskey) and
// posts the resulting code and id_token to the app. Forms are found by data-passlock:
// "register", "signup", "login", "verify" and "delete".
// Events (bubbling, on the form): passlock:<kind>-start, passlock:<kind>-complete and
// passlock:<kind>-failed, with details in event.detail.

const configElement = document.getElementById("passlock-config");
const config = configElement ? JSON.parse(configElement.textContent) : null;
let clientModule;

const PROGRESS = {
  optionsRequest: "Contacting the passkey service…",
  createCredential: "Follow your browser's prompt to create the passkey…",
  saveCredential: "Saving the passkey…",
  getCredential: "Follow your browser's prompt to use your passkey…",
  verifyCredential: "Checking the passkey…",
};

const FAILURES = {
  "@error/DuplicatePasskey": "This device already holds a passkey for this account.",
  "@error/PasskeyUnsupported": "This browser or device does not support passkeys.",
  "@error/Network": "The passkey service could not be reached. Please try again.",
  "@error/OrphanedPasskey": "This passkey no longer exists. It has been removed from your device if it supports that; please use another one.",
};

function loadClient() {
  clientModule ??= import(config.clientUrl);
  return clientModule;
}

function cancelled(result) {
  const code = String((result && result.code) || "");
  return result && result._tag === "@error/OtherPasskey" &&
    (code.includes("ABORT") || code.includes("NotAllowed") || code.includes("CANCEL"));
}

function failureMessage(result, verb) {
  if (cancelled(result)) return `Passkey ${verb} was cancelled.`;
  return FAILURES[result && result._tag] || `The passkey ${verb} failed. Please try again.`;
}

function setStatus(form, state, message) {
  const status = form.querySelector(".passlock-status");
  form.dataset.status = state;
  if (status) {
    status.dataset.status = state;
    status.textContent = message;
  }
}

function emit(form, name, detail) {
  form.dispatchEvent(new CustomEvent(`passlock:${name}`, { bubbles: true, detail }));
}

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
    return { ok: false, detail: "The server could not be reached. Please try again." };
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
    detail: (data && data.detail) || `The server answered ${response.status}.`,
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

async function forgetOrphan(result) {
  // Tell the device to forget a passkey Passlock no longer knows (WebAuthn Signal API).
  try {
    const client = await loadClient();
    if (client.deletePasskey) await client.deletePasskey(result);
  } catch {
    // best effort
  }
}

// One ceremony, then one POST to the app. `ceremony` returns the client's result.
async function run(form, kind, verb, ceremony, extraBody = {}) {
  const button = form.querySelector("button[type=submit], button:not([type])");
  if (button) button.disabled = true;
  emit(form, `${kind}-start`, {});
  setStatus(form, "working", "Starting…");
  try {
    let result;
    try {
      const client = await loadClient();
      result = await ceremony(client, (event) => setStatus(form, "working", PROGRESS[event] || "Working…"));
    } catch (error) {
      result = error; // the non-safe client entry point throws
    }
    const success = kind === "register" || kind === "signup" ? "RegistrationSuccess" : "AuthenticationSuccess";
    if (!result || result._tag !== success) {
      if (result && result._tag === "@error/OrphanedPasskey") forgetOrphan(result);
      const message = failureMessage(result, verb);
      setStatus(form, "error", message);
      emit(form, `${kind}-failed`, { stage: "passkey", tag: result && result._tag, message });
      return;
    }
    setStatus(form, "working", "Almost done…");
    const answer = await postToApp(form.action, { code: result.code, id_token: result.id_token, ...extraBody });
    if (!answer.ok) {
      setStatus(form, "error", answer.detail);
      emit(form, `${kind}-failed`, { stage: "server", code: answer.code, message: answer.detail });
      return;
    }
    setStatus(form, "success", "Done.");
    emit(form, `${kind}-complete`, answer.data);
    if (answer.data.redirect && form.dataset.redirect !== "false") {
      window.location.assign(answer.data.redirect);
    }
  } finally {
    if (button) button.disabled = false;
  }
}

function usernameOf(form) {
  return (form.elements.username?.value || "").trim();
}

function setUpRegister(form, kind) {
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const username = usernameOf(form);
    if (!username) {
      setStatus(form, "error", "Please enter a username.");
      return;
    }
    const ceremony = (client, onEvent) => client.registerPasskey({
      tenancyId: config.tenancyId,
      endpoint: config.endpoint,
      username,
      excludeCredentials: jsonAttribute(form, "exclude"),
      onEvent,
    });
    run(form, kind, "creation", ceremony, kind === "signup" ? { username } : {});
  });
}

function authenticate(client, onEvent, extra) {
  return client.authenticatePasskey({ tenancyId: config.tenancyId, endpoint: config.endpoint, onEvent, ...extra });
}

function setUpLogin(form) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const username = usernameOf(form);
    let allowCredentials;
    if (username && form.dataset.options) {
      const answer = await postToApp(form.dataset.options, { username });
      if (answer.ok && answer.data.allowCredentials?.length) allowCredentials = answer.data.allowCredentials;
    }
    run(form, "login", "sign-in", (client, onEvent) => authenticate(client, onEvent, { allowCredentials }));
  });
  if (form.dataset.autofill === "true") startAutofill(form);
}

async function startAutofill(form) {
  if (!window.PublicKeyCredential?.isConditionalMediationAvailable) return;
  if (!(await PublicKeyCredential.isConditionalMediationAvailable())) return;
  const client = await loadClient();
  const result = await authenticate(client, () => {}, { autofill: true });
  if (!result || result._tag !== "AuthenticationSuccess") return; // cancelled or replaced by a click
  run(form, "login", "sign-in", async () => result);
}

function setUpVerify(form) {
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    run(form, "verify", "check", (client, onEvent) =>
      authenticate(client, onEvent, { allowCredentials: jsonAttribute(form, "allow"), userVerification: "required" }));
  });
}

function setUpDelete(form) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!window.confirm("Delete this passkey? You won't be able to sign in with it any more.")) return;
    const answer = await postToApp(form.action, {});
    if (!answer.ok) {
      emit(form, "delete-failed", { code: answer.code, message: answer.detail });
      window.alert(answer.detail);
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
    window.location.reload();
  });
}

if (config) {
  for (const form of document.querySelectorAll("form[data-passlock]")) {
    const kind = form.dataset.passlock;
    if (form.dataset.passlockReady) continue;
    form.dataset.passlockReady = "true";
    if (kind === "register" || kind === "signup") setUpRegister(form, kind);
    else if (kind === "login") setUpLogin(form);
    else if (kind === "verify") setUpVerify(form);
    else if (kind === "delete") setUpDelete(form);
  }
}
