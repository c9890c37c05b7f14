// Shared by the admin pages (/ui/ reviews, /ui/sessions): the bearer token kept in
// this tab only, the admin API call, messages, and a tiny DOM builder.
"use strict";
const tokenKey = "wardgate.token";  // one sign-in per tab serves every page

function token() { return sessionStorage.getItem(tokenKey) || ""; }

function say(text, isError) {
  const box = document.getElementById("message");
  box.textContent = text;
  box.className = isError ? "error" : "";
}

// FastAPI answers a string, or for a bad body a list of {loc, msg} objects.
function detail(value) {
  if (Array.isArray(value)) { return value.map((item) => item.msg || String(item)).join("; "); }
  return value ? String(value) : "";
}

async function api(path, options) {
  const response = await fetch(path, Object.assign({}, options, {
    headers: Object.assign({"Authorization": "Bearer " + token(), "Content-Type": "application/json"},
                           (options || {}).headers || {}),
  }));
  const body = await response.json().catch(() => ({}));
  if (!response.ok) { throw new Error(detail(body.detail) || ("HTTP " + response.status)); }
  return body;
}

function el(tag, attrs, children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (key === "text") { node.textContent = value; } else { node.setAttribute(key, value); }
  }
  for (const child of children || []) { node.appendChild(child); }
  return node;
}
