// Shared by the dashboard's pages. Everything from the API is written as text
// (textContent, attributes checked), never as HTML: crawled pages are hostile input.
"use strict";

const Isidorus = (() => {
  const TERMINAL = new Set(["COMPLETED", "COMPLETED_WITH_ERRORS", "FAILED", "CANCELLED"]);

  function cookie(name) {
    for (const part of document.cookie.split(";")) {
      const [key, ...rest] = part.trim().split("=");
      if (key === name) return decodeURIComponent(rest.join("="));
    }
    return "";
  }

  // One API call with the session; unsafe methods carry Django's CSRF token.
  async function api(path, {method = "GET", body} = {}) {
    const headers = {Accept: "application/json"};
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (method !== "GET") headers["X-CSRFToken"] = cookie("csrftoken");
    let response;
    try {
      response = await fetch(path, {
        method, headers, credentials: "same-origin",
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (error) {
      return {status: 0, ok: false, data: {error: {message: "the server did not answer"}}};
    }
    let data = null;
    try { data = await response.json(); } catch (error) { data = null; }
    return {status: response.status, ok: response.ok, data};
  }

  // Only http(s) links are ever made clickable: never javascript:, data: and the like.
  function safeHref(url) {
    try {
      const parsed = new URL(url, window.location.href);
      return parsed.protocol === "http:" || parsed.protocol === "https:" ? parsed.href : null;
    } catch (error) {
      return null;
    }
  }

  // The path and query of an API link (next/previous), so it is always this origin's.
  function localPath(url) {
    if (!url) return null;
    const parsed = new URL(url, window.location.href);
    return parsed.pathname + parsed.search;
  }

  function el(tag, props = {}, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(props)) {
      if (value === null || value === undefined) continue;
      if (name === "text") node.textContent = String(value);
      else if (name === "className") node.className = value;
      else if (name === "href") {
        const href = safeHref(value);
        if (href) node.setAttribute("href", href);
      } else node.setAttribute(name, String(value));
    }
    for (const child of children) {
      if (child === null || child === undefined) continue;
      node.append(typeof child === "string" ? document.createTextNode(child) : child);
    }
    return node;
  }

  function externalLink(url, label) {
    const link = el("a", {href: url, text: label || url, rel: "noopener noreferrer nofollow", target: "_blank"});
    return link.hasAttribute("href") ? link : el("span", {text: label || url});
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
  }

  // A search snippet: the API escapes the page's text and marks matches with <mark>.
  // Parsed in an inert document; only its text and <mark> elements are copied.
  function snippet(html) {
    const parsed = new DOMParser().parseFromString(String(html || ""), "text/html");
    const fragment = document.createDocumentFragment();
    for (const node of parsed.body.childNodes) {
      if (node.nodeType === Node.ELEMENT_NODE && node.tagName === "MARK") {
        fragment.append(el("mark", {text: node.textContent}));
      } else {
        fragment.append(document.createTextNode(node.textContent || ""));
      }
    }
    return fragment;
  }

  function statusBadge(status) {
    return el("span", {className: `status status-${String(status).toLowerCase()}`, text: status});
  }

  function stageText(stage) {
    if (!stage) return "–";
    return stage.admitted === null ? `${stage.done} of ?` : `${stage.done} of ${stage.admitted}`;
  }

  function setBar(bar, stage) {
    if (!stage || stage.admitted === null) {
      bar.removeAttribute("value");  // indeterminate while unknown
      return;
    }
    bar.max = Math.max(stage.admitted, 1);
    bar.value = stage.done;
  }

  return {TERMINAL, api, safeHref, localPath, el, externalLink, clear, snippet, statusBadge, stageText, setBar};
})();
