// Cookie-mode client for jwt_middleware: the browser keeps the tokens in
// HttpOnly cookies; this script only ever sees the CSRF cookie, which it
// echoes in the X-CSRF-Token header on unsafe requests (double submit).
// The websocket carries the access cookie too; no header can be set on a
// handshake, so the server checks its Origin instead (only this page's own
// origin, or one configured, may use the cookie there).
"use strict";

const CSRF_COOKIE = "csrf_token";
const CSRF_HEADER = "X-CSRF-Token";

function readCookie(name) {
  for (const part of document.cookie.split(";")) {
    const [key, ...rest] = part.trim().split("=");
    if (key === name) return decodeURIComponent(rest.join("="));
  }
  return null;
}

function show(step, status, data) {
  const element = document.getElementById("status-" + step);
  element.textContent = status + " " + JSON.stringify(data);
  element.dataset.status = String(status);
  element.className = status === 101 || (status >= 200 && status < 300) ? "ok" : "err";
}

// One call, shown under "step". csrf: send the header on unsafe methods.
async function call(step, method, path, { body, csrf = true } = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (csrf && method !== "GET" && method !== "HEAD") {
    const token = readCookie(CSRF_COOKIE);
    if (token) headers[CSRF_HEADER] = token;
  }
  let status, data;
  try {
    const response = await fetch(path, {
      method,
      headers,
      credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    status = response.status;
    data = await response.json().catch(() => null);
  } catch (error) {
    status = 0;
    data = { error: String(error) };
  }
  show(step, status, data);
  return { status, data };
}

async function login(event) {
  event.preventDefault();
  const username = document.getElementById("username").value;
  const password = document.getElementById("password").value;
  const { status } = await call("login", "POST", "/auth/login", {
    body: { username, password },
    csrf: false,
  });
  document.getElementById("password").value = "";
  if (status === 200) await call("me", "GET", "/me");
}

// Open /ws (the cookie authenticates it), send one text frame, show the echo.
// A refused handshake is only "closed" to the script (code 1006): browsers
// hide the HTTP status (403 from another origin, 401 without a cookie).
function websocket(step, message) {
  const url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws";
  const socket = new WebSocket(url);
  let opened = false;
  socket.onopen = () => { opened = true; socket.send(message); };
  socket.onmessage = (event) => {
    show(step, 101, { frame: event.data });
    socket.close();
  };
  socket.onclose = (event) => {
    if (!opened) show(step, 0, { error: "refused", code: event.code });
  };
}

document.getElementById("login-form").addEventListener("submit", login);
document.getElementById("ws").addEventListener("click", () => websocket("ws", "hello"));
document.getElementById("me").addEventListener("click", () => call("me", "GET", "/me"));
document.getElementById("echo").addEventListener("click", () =>
  call("echo", "POST", "/api/echo", { body: { message: "hello" } }));
document.getElementById("echo-no-csrf").addEventListener("click", () =>
  call("echo-no-csrf", "POST", "/api/echo", { body: { message: "hello" }, csrf: false }));
document.getElementById("refresh").addEventListener("click", () =>
  call("refresh", "POST", "/auth/refresh"));
document.getElementById("logout").addEventListener("click", () =>
  call("logout", "POST", "/auth/logout"));
