// Runs every REST function of the real @passlock/server 2.4.2 (its `safe` entry point) against
// a running Passlock emulator and prints one JSON line per case:
//   {"name", "fn", "expected", "got", "ok", "defect"}
// `got` is the `_tag` of what the library resolved to, or "defect" when it rejected (a decode
// failure of the emulator's answer: Effect's `die`, printed from its Cause in `defect`).
//
//   node contract.mjs --list          the cases and the library's REST functions, as JSON
//   node contract.mjs CONFIG.json     run the cases; CONFIG holds the endpoint, the API key
//                                     and what the test seeded through the emulator's Python API
//
// The library is found at $PASSLOCK_SERVER_BUNDLE, else at
// <repository>/../shared/passlock-server/passlock-server-2.4.2.mjs.

import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const bundle =
  process.env.PASSLOCK_SERVER_BUNDLE ??
  path.resolve(here, "../../../shared/passlock-server/passlock-server-2.4.2.mjs");
const { safe, Cause, Runtime } = await import(pathToFileURL(bundle).href);

/** A step of a case answered something else than the case needs to go on. */
class Unexpected extends Error {
  constructor(step, result) {
    super(`${step} gave ${JSON.stringify(result)?.slice(0, 400)}`);
    this.tag = result?._tag ?? typeof result;
  }
}

const cases = [];
const test = (name, fn, expected, run, check = () => "") =>
  cases.push({ name, fn, expected, run, check });

async function expectTag(step, promise, tag) {
  const result = await promise;
  if (result?._tag !== tag) throw new Unexpected(step, result);
  return result;
}

const same = (what, got, want) =>
  JSON.stringify(got) === JSON.stringify(want)
    ? ""
    : `${what}: ${JSON.stringify(got)}, expected ${JSON.stringify(want)}`;
const firstDefect = (...texts) => texts.find((t) => t) ?? "";

// -- the cases, in order (later ones use what earlier ones left in ctx) ------------------------

test("exchange a code (GET)", "exchangeCode", "ExtendedPrincipal",
  (c) => safe.exchangeCode(c.auth({ code: c.seed.codeGet.code })),
  (r, c) => firstDefect(
    same("authenticatorId", r.authenticatorId, c.seed.codeGet.authenticatorId),
    same("platformName", r.passkey?.platformName, "iCloud Keychain")));
test("exchange a used code", "exchangeCode", "@error/InvalidCode",
  (c) => safe.exchangeCode(c.auth({ code: c.seed.codeGet.code })));
test("exchange an unknown code", "exchangeCode", "@error/InvalidCode",
  (c) => safe.exchangeCode(c.auth({ code: "no-such-code" })));
test("exchange with a wrong API key", "exchangeCode", "@error/Forbidden",
  (c) => safe.exchangeCode(c.wrongKey({ code: c.seed.codePost.code })));
test("exchange a code assigning a userId (POST)", "exchangeCode", "ExtendedPrincipal",
  (c) => safe.exchangeCode(c.auth({ code: c.seed.codePost.code, userId: "app-user-1" })),
  (r, c) => firstDefect(
    same("userId", r.userId, "app-user-1"),
    same("authenticatorId", r.authenticatorId, c.seed.codePost.authenticatorId)));
test("the assigned userId is the passkey's", "getPasskey", "Passkey",
  (c) => safe.getPasskey(c.auth({ passkeyId: c.seed.codePost.authenticatorId })),
  (r) => same("userId", r.userId, "app-user-1"));
test("exchange a used code (POST)", "exchangeCode", "@error/InvalidCode",
  (c) => safe.exchangeCode(c.auth({ code: c.seed.codePost.code, userId: "app-user-1" })));

test("verify an id_token", "verifyIdToken", "Principal",
  (c) => safe.verifyIdToken(c.token(c.seed.tokens.valid.token)),
  (r, c) => same("authenticatorId", r.authenticatorId, c.seed.tokens.valid.authenticatorId));
test("verify an id_token signed with the previous key", "verifyIdToken", "Principal",
  (c) => safe.verifyIdToken(c.token(c.seed.tokens.previousKey)));
for (const [name, key] of [["tampered", "tampered"], ["expired", "expired"],
  ["for another tenancy", "wrongAudience"], ["with an unknown kid", "unknownKid"]]) {
  test(`verify an id_token ${name}`, "verifyIdToken", "@error/Verification",
    (c) => safe.verifyIdToken(c.token(c.seed.tokens[key])));
}

test("list passkeys page by page", "listPasskeys", "FindAllPasskeys",
  async (c) => {
    const ids = [];
    let page = await safe.listPasskeys(c.auth({}));
    c.pages = 1;
    for (; page?._tag === "FindAllPasskeys"; c.pages++) {
      ids.push(...page.records.map((r) => r.id));
      if (page.cursor === null) break;
      page = await safe.listPasskeys(c.auth({ cursor: page.cursor }));
    }
    c.listed = ids;
    return page;
  },
  (r, c) => firstDefect(
    same("passkeys listed", c.listed.length, c.seed.passkeyCount),
    same("distinct passkeys", new Set(c.listed).size, c.seed.passkeyCount),
    same("pages", c.pages, Math.ceil(c.seed.passkeyCount / c.seed.pageSize))));
test("list passkeys with a wrong API key", "listPasskeys", "@error/Forbidden",
  (c) => safe.listPasskeys(c.wrongKey({})));

test("get a passkey", "getPasskey", "Passkey",
  (c) => safe.getPasskey(c.auth({ passkeyId: c.seed.codeGet.authenticatorId })),
  (r) => same("platform", r.platform, { name: "iCloud Keychain" }));
test("get an unknown passkey", "getPasskey", "@error/NotFound",
  (c) => safe.getPasskey(c.auth({ passkeyId: "no-such-passkey" })));
test("get a passkey with a wrong API key", "getPasskey", "@error/Forbidden",
  (c) => safe.getPasskey(c.wrongKey({ passkeyId: c.seed.codeGet.authenticatorId })));

test("update a passkey's username", "updatePasskey", "Passkey",
  (c) => safe.updatePasskey(c.auth({ passkeyId: c.seed.updateId, username: "renamed" })),
  (r) => same("username", r.credential.username, "renamed"));
test("update an unknown passkey", "updatePasskey", "@error/NotFound",
  (c) => safe.updatePasskey(c.auth({ passkeyId: "no-such-passkey", username: "x" })));
test("assign a user to a passkey", "assignUser", "Passkey",
  (c) => safe.assignUser(c.auth({ passkeyId: c.seed.assignId, userId: "assigned-1" })),
  (r) => same("userId", r.userId, "assigned-1"));
test("assign a user to an unknown passkey", "assignUser", "@error/NotFound",
  (c) => safe.assignUser(c.auth({ passkeyId: "no-such-passkey", userId: "x" })));
test("assign a user with a wrong API key", "assignUser", "@error/Forbidden",
  (c) => safe.assignUser(c.wrongKey({ passkeyId: c.seed.assignId, userId: "x" })));

test("delete a passkey", "deletePasskey", "DeletedPasskey",
  (c) => safe.deletePasskey(c.auth({ passkeyId: c.seed.deleteId })),
  (r) => same("rpId", r.deleted.rpId, "localhost"));
test("delete a deleted passkey", "deletePasskey", "@error/NotFound",
  (c) => safe.deletePasskey(c.auth({ passkeyId: c.seed.deleteId })));
test("delete a passkey with a wrong API key", "deletePasskey", "@error/Forbidden",
  (c) => safe.deletePasskey(c.wrongKey({ passkeyId: c.seed.assignId })));

test("rename a user's passkeys", "updatePasskeyUsernames", "UpdatedCredentials",
  (c) => safe.updatePasskeyUsernames(c.auth({ userId: c.seed.userId, username: "new-name" })),
  (r, c) => firstDefect(
    same("credentials", r.credentials.length, c.seed.userPasskeys),
    same("usernames", [...new Set(r.credentials.map((x) => x.username))], ["new-name"])));
test("rename an unknown user's passkeys", "updatePasskeyUsernames", "@error/NotFound",
  (c) => safe.updatePasskeyUsernames(c.auth({ userId: "no-such-user", username: "x" })));
test("delete a user's passkeys", "deleteUserPasskeys", "DeletedPasskeys",
  (c) => safe.deleteUserPasskeys(c.auth({ userId: c.seed.userId })),
  (r, c) => same("deleted", r.deleted.length, c.seed.userPasskeys));
test("delete a user's passkeys again", "deleteUserPasskeys", "@error/NotFound",
  (c) => safe.deleteUserPasskeys(c.auth({ userId: c.seed.userId })));
test("delete a user's passkeys with a wrong API key", "deleteUserPasskeys", "@error/Forbidden",
  (c) => safe.deleteUserPasskeys(c.wrongKey({ userId: c.seed.userId })));

const METADATA = { next: "/account", n: 1.5, nested: { list: [1, null, true, "x"] } };
test("create a challenge", "createMailboxChallenge", "ChallengeCreated",
  (c) => safe.createMailboxChallenge(c.auth({
    email: "ada@example.com", purpose: "login:v1", userId: "u-1", metadata: METADATA })),
  (r, c) => {
    c.challenge = r.challenge;
    const { code, message } = r.challenge;
    return firstDefect(
      /^\d{6}$/.test(code) ? "" : `code ${code} is not 6 digits`,
      message.text.includes(code) && message.html.includes(code) ? "" : "code not in message",
      same("metadata", r.challenge.metadata, METADATA),
      same("userId", r.challenge.userId, "u-1"));
  });
test("create a challenge without userId or metadata", "createMailboxChallenge",
  "ChallengeCreated",
  (c) => safe.createMailboxChallenge(c.auth({ email: "bob@example.com", purpose: "signup" })),
  (r) => firstDefect(
    "userId" in r.challenge ? "userId sent without one" : "",
    same("metadata", r.challenge.metadata, null)));
test("get a challenge", "getMailboxChallenge", "Challenge",
  (c) => safe.getMailboxChallenge(c.auth({ challengeId: c.challenge.challengeId })),
  (r) => "secret" in r || "code" in r ? "secret or code sent" : same("purpose", r.purpose, "login:v1"));
test("get an unknown challenge", "getMailboxChallenge", "@error/NotFound",
  (c) => safe.getMailboxChallenge(c.auth({ challengeId: "no-such-challenge" })));
test("get a challenge with a wrong API key", "getMailboxChallenge", "@error/Forbidden",
  (c) => safe.getMailboxChallenge(c.wrongKey({ challengeId: c.challenge.challengeId })));

const wrongCode = (code) => String((Number(code) + 1) % 1_000_000).padStart(6, "0");
const verify = (c, challenge, changes = {}) =>
  safe.verifyMailboxChallenge(c.auth({
    challengeId: challenge.challengeId, secret: challenge.secret, code: challenge.code,
    ...changes }));
test("verify a wrong code", "verifyMailboxChallenge", "@error/InvalidChallengeCode",
  (c) => verify(c, c.challenge, { code: wrongCode(c.challenge.code) }));
test("verify with a wrong secret", "verifyMailboxChallenge", "@error/InvalidChallenge",
  (c) => verify(c, c.challenge, { secret: "wrong-secret" }));
test("verify an unknown challenge", "verifyMailboxChallenge", "@error/InvalidChallenge",
  (c) => verify(c, { ...c.challenge, challengeId: "no-such-challenge" }));
test("verify with a wrong API key", "verifyMailboxChallenge", "@error/Forbidden",
  (c) => safe.verifyMailboxChallenge(c.wrongKey({
    challengeId: c.challenge.challengeId, secret: c.challenge.secret, code: c.challenge.code })));
test("verify the right code", "verifyMailboxChallenge", "ChallengeVerified",
  (c) => verify(c, c.challenge),
  (r, c) => firstDefect(
    same("challengeId", r.challenge.challengeId, c.challenge.challengeId),
    same("metadata", r.challenge.metadata, METADATA)));
test("verify a verified challenge", "verifyMailboxChallenge", "@error/InvalidChallenge",
  (c) => verify(c, c.challenge));
test("verify an expired challenge", "verifyMailboxChallenge", "@error/ChallengeExpired",
  (c) => verify(c, c.seed.expired));
test("verify after too many wrong codes", "verifyMailboxChallenge",
  "@error/ChallengeAttemptsExceeded",
  async (c) => {
    const created = await expectTag("create",
      safe.createMailboxChallenge(c.auth({ email: "eve@example.com", purpose: "login" })),
      "ChallengeCreated");
    const challenge = created.challenge;
    for (let i = 1; i <= c.seed.maxAttempts; i++) {
      await expectTag(`wrong code ${i}`, verify(c, challenge, { code: wrongCode(challenge.code) }),
        "@error/InvalidChallengeCode");
    }
    return verify(c, challenge);
  });

const create = (c, email, purpose, extra = {}) => expectTag(`create for ${email}`,
  safe.createMailboxChallenge(c.auth({ email, purpose, ...extra })), "ChallengeCreated");
const gone = async (c, challenge, what) => {
  const r = await safe.getMailboxChallenge(c.auth({ challengeId: challenge.challengeId }));
  return r._tag === "@error/NotFound" ? "" : `${what} is still there (${r._tag})`;
};
test("invalidate others by userId", "createMailboxChallenge", "ChallengeCreated",
  async (c) => {
    c.old = (await create(c, "old@example.com", "reset", { userId: "inv-user" })).challenge;
    c.otherPurpose = (await create(c, "old@example.com", "login", { userId: "inv-user" })).challenge;
    return safe.createMailboxChallenge(c.auth({
      email: "new@example.com", purpose: "reset", userId: "inv-user", invalidateOthers: true }));
  },
  async (r, c) => firstDefect(
    await gone(c, c.old, "the same user's challenge"),
    (await gone(c, c.otherPurpose, "x")) ? "" : "a challenge for another purpose was dropped"));
test("invalidate others by email", "createMailboxChallenge", "ChallengeCreated",
  async (c) => {
    c.old = (await create(c, "same@example.com", "reset")).challenge;
    return safe.createMailboxChallenge(c.auth({
      email: "same@example.com", purpose: "reset", invalidateOthers: true }));
  },
  async (r, c) => gone(c, c.old, "the same email's challenge"));
test("create a challenge with a wrong API key", "createMailboxChallenge", "@error/Forbidden",
  (c) => safe.createMailboxChallenge(c.wrongKey({ email: "ada@example.com", purpose: "x" })));
test("create challenges past the rate limit", "createMailboxChallenge",
  "@error/ChallengeRateLimited",
  async (c) => {
    for (let i = 0; i < c.seed.rateLimit; i++) await create(c, "busy@example.com", "login");
    return safe.createMailboxChallenge(c.auth({ email: "busy@example.com", purpose: "login" }));
  },
  (r, c) => Number.isInteger(r.retryAfterSeconds) && r.retryAfterSeconds > 0 &&
    r.retryAfterSeconds <= c.seed.rateWindow ? "" : `retryAfterSeconds ${r.retryAfterSeconds}`);
test("create a challenge skipping the rate limit", "createMailboxChallenge", "ChallengeCreated",
  (c) => safe.createMailboxChallenge(c.auth({
    email: "busy@example.com", purpose: "login", skipRateLimit: true })));

test("delete a challenge", "deleteMailboxChallenge", "ChallengeDeleted",
  async (c) => {
    c.doomed = (await create(c, "gone@example.com", "login")).challenge;
    return safe.deleteMailboxChallenge(c.auth({ challengeId: c.doomed.challengeId }));
  },
  async (r, c) => gone(c, c.doomed, "the deleted challenge"));
test("delete an unknown challenge", "deleteMailboxChallenge", "ChallengeDeleted",
  (c) => safe.deleteMailboxChallenge(c.auth({ challengeId: "no-such-challenge" })));
test("delete a challenge with a wrong API key", "deleteMailboxChallenge", "@error/Forbidden",
  (c) => safe.deleteMailboxChallenge(c.wrongKey({ challengeId: "no-such-challenge" })));

// -- running them --------------------------------------------------------------------------

const functions = Object.keys(safe).filter((name) => !name.startsWith("is")).sort();

if (process.argv[2] === "--list") {
  const listed = cases.map(({ name, fn, expected }) => ({ name, fn, expected }));
  console.log(JSON.stringify({ cases: listed, functions }));
  process.exit(0);
}

const config = JSON.parse(readFileSync(process.argv[2], "utf-8"));
const ctx = {
  seed: config.seed,
  auth: (options) => ({ tenancyId: config.tenancyId, apiKey: config.apiKey,
    endpoint: config.endpoint, ...options }),
  wrongKey: (options) => ({ ...ctx.auth(options), apiKey: "wrong-api-key" }),
  token: (token) => ({ token, tenancyId: config.tenancyId, endpoint: config.endpoint }),
};

const describeDefect = (error) =>
  Runtime.isFiberFailure(error)
    ? Cause.pretty(error[Runtime.FiberFailureCauseId])
    : String(error?.stack ?? error);

for (const { name, fn, expected, run, check } of cases) {
  let got;
  let defect = "";
  try {
    const result = await run(ctx);
    got = result?._tag ?? typeof result;
    defect = got === expected
      ? await check(result, ctx)
      : `answered ${JSON.stringify(result)?.slice(0, 400)}`;
  } catch (error) {
    got = error instanceof Unexpected ? error.tag : "defect";
    defect = error instanceof Unexpected ? error.message : describeDefect(error);
  }
  const ok = got === expected && !defect;
  console.log(JSON.stringify({ name, fn, expected, got, ok, defect: defect.slice(0, 2000) }));
}
process.exit(0);
