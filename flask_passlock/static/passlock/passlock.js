// Flask-Passlock browser glue: runs registerPasskey from the Passlock client module and
// posts the resulting code to the app. Loaded by the macros in passlock/macros.html.
// Events (bubbling, on the form): passlock:register-start, passlock:register-complete,
// passlock:register-failed, with details in event.detail.

const configElement = document.getElementById("passlock-config");
const config = configElement ? JSON.parse(configElement.textContent) : null;
let clientModule;

const PROGRESS = {
  optionsRequest: "Contacting the passkey service…",
  createCredential: "Follow your browser's prompt to create the passkey…",
  saveCredential: "Saving the passkey…",
};

const FAILURES = {
  "@error/DuplicatePasskey": "This device already holds a passkey for this account.",
  "@error/PasskeyUnsupported": "This browser or device does not support passkeys.",
  "@error/Network": "The passkey service could not be reached. Please try again.",
};

function loadClient() {
  clientModule ??= import(config.clientUrl);
  return clientModule;
}

function failureMessage(result) {
  if (result && result._tag === "@error/OtherPasskey") {
    const code = String(result.code || "");
    if (code.includes("ABORT") || code.includes("NotAllowed") || code.includes("CANCEL")) {
      return "Passkey creation was cancelled.";
    }
  }
  return FAILURES[result && result._tag] || "The passkey could not be created. Please try again.";
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

async function register(form) {
  const button = form.querySelector("button[type=submit], button:not([type])");
  const username = (form.elements.username?.value || "").trim();
  if (!username) {
    setStatus(form, "error", "Please enter a username.");
    return;
  }
  if (button) button.disabled = true;
  emit(form, "register-start", { username });
  setStatus(form, "working", "Starting…");
  try {
    let result;
    try {
      const { registerPasskey } = await loadClient();
      result = await registerPasskey({
        tenancyId: config.tenancyId,
        endpoint: config.endpoint,
        username,
        onEvent: (event) => setStatus(form, "working", PROGRESS[event] || "Working…"),
      });
    } catch (error) {
      result = error; // the non-safe client entry point throws
    }
    if (!result || result._tag !== "RegistrationSuccess") {
      const message = failureMessage(result);
      setStatus(form, "error", message);
      emit(form, "register-failed", { stage: "passkey", tag: result && result._tag, message });
      return;
    }
    setStatus(form, "working", "Linking the passkey to your account…");
    const answer = await postToApp(form.action, { code: result.code });
    if (!answer.ok) {
      setStatus(form, "error", answer.detail);
      emit(form, "register-failed", { stage: "server", code: answer.code, message: answer.detail });
      return;
    }
    setStatus(form, "success", "Passkey created.");
    emit(form, "register-complete", { authenticator: answer.data.authenticator });
    if (answer.data.redirect && form.dataset.redirect !== "false") {
      window.location.assign(answer.data.redirect);
    }
  } finally {
    if (button) button.disabled = false;
  }
}

if (config) {
  for (const form of document.querySelectorAll('form[data-passlock="register"]')) {
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      register(form);
    });
  }
}
