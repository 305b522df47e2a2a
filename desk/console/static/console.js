// The agent's screen: polls /desk/live for the state, the live queue and the bridged caller,
// loads the screen pop once per bridged caller, and posts the buttons with the CSRF token.
// Plain JavaScript, no library: the page works from the repository alone (no CDN).
(function () {
  "use strict";
  var root = document.getElementById("console");
  if (!root) { return; }
  var token = document.querySelector('meta[name="csrf-token"]').getAttribute("content");
  var pollMs = parseInt(root.getAttribute("data-poll-ms"), 10) || 2000;
  var shown = null;

  function signedOut(response) {
    if (response.status === 401) {
      window.location.assign(root.getAttribute("data-login"));
      return true;
    }
    return false;
  }

  function say(text) {
    document.getElementById("message").textContent = text;
  }

  function loadPop(entry) {
    var url = root.getAttribute("data-pop").replace(/0$/, String(entry));
    fetch(url, { headers: { "X-Requested-With": "fetch" }, credentials: "same-origin" })
      .then(function (response) {
        if (signedOut(response) || !response.ok) { return null; }
        return response.text();
      })
      .then(function (html) {
        if (html !== null) { document.getElementById("pop").innerHTML = html; }
      });
  }

  function poll() {
    fetch(root.getAttribute("data-live"), {
      headers: { "X-Requested-With": "fetch", "Accept": "application/json" },
      credentials: "same-origin"
    })
      .then(function (response) {
        if (signedOut(response) || !response.ok) { return null; }
        return response.json();
      })
      .then(function (live) {
        if (live === null) { return; }
        document.getElementById("state").textContent = live.state_label;
        document.getElementById("waiting").textContent = "(" + live.waiting + ")";
        // Rendered and escaped by the server's template.
        document.getElementById("queue").innerHTML = live.queue_html;
        if (live.bridged !== shown) {
          shown = live.bridged;
          if (shown === null) {
            document.getElementById("pop").innerHTML = "<p>No caller bridged to you.</p>";
          } else {
            loadPop(shown);
          }
        }
      })
      .catch(function () { say("The desk cannot be reached; trying again."); })
      .then(function () { window.setTimeout(poll, pollMs); });
  }

  function post(button) {
    var body = new URLSearchParams();
    if (button.getAttribute("data-state")) { body.set("state", button.getAttribute("data-state")); }
    fetch(button.getAttribute("data-post"), {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "X-CSRFToken": token, "X-Requested-With": "fetch" }
    })
      .then(function (response) {
        if (signedOut(response)) { return null; }
        return response.json().catch(function () { return { error: "refused" }; });
      })
      .then(function (answer) {
        if (answer === null) { return; }
        say(answer.message || answer.error || "");
      });
  }

  document.querySelectorAll("button[data-post]").forEach(function (button) {
    button.addEventListener("click", function () { post(button); });
  });
  poll();
}());
