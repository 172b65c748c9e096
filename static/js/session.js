/*
 * Idle logoff warning (HIPAA automatic logoff; the server side is
 * calaim.web.middleware.IdleSessionMiddleware).
 *
 * The server ends a session SESSION_IDLE_SECONDS after the last request the user
 * made. This script mirrors that clock: every page load and every htmx request
 * that is not a background one (header X-Calaim-Background: 1) counts as
 * activity. About two minutes before the end it shows a dialog offering "Stay
 * signed in" (a user-made request that extends the session) or "Sign out"; at the
 * end it goes to the sign-in page, where the server says why.
 *
 * Tabs share the time of the last activity through localStorage, because they
 * share one session: working in one tab keeps the others from warning.
 */
(function () {
  "use strict";

  var dialog = document.getElementById("session-timeout");
  if (!dialog) {
    return;
  }
  var idleMs = Number(dialog.dataset.idleSeconds) * 1000;
  if (!(idleMs > 0)) {
    return;
  }
  var WARNING_MS = 2 * 60 * 1000;
  // Short sessions (tests, demos) warn halfway instead of at once.
  var warnAfterMs = idleMs > 2 * WARNING_MS ? idleMs - WARNING_MS : idleMs / 2;
  // Leave a margin so the server has surely expired the session when we go.
  var LEAVE_MARGIN_MS = 1000;
  var STORAGE_KEY = "calaim:lastActivity";
  var BACKGROUND_HEADER = "X-Calaim-Background";

  var countdown = dialog.querySelector("[data-session-countdown]");
  var stayButton = dialog.querySelector("[data-session-stay]");
  var modal = window.bootstrap ? window.bootstrap.Modal.getOrCreateInstance(dialog) : null;
  var lastActivity = 0;
  var warning = false;
  var leaving = false;

  function sharedActivity() {
    try {
      return Number(window.localStorage.getItem(STORAGE_KEY)) || 0;
    } catch (error) {
      return 0; // storage disabled: each tab keeps its own clock
    }
  }

  function latestActivity() {
    return Math.max(lastActivity, sharedActivity());
  }

  function markActivity() {
    lastActivity = Date.now();
    try {
      window.localStorage.setItem(STORAGE_KEY, String(lastActivity));
    } catch (error) {
      // storage disabled: nothing to share
    }
    hideWarning();
  }

  function describe(ms) {
    var seconds = Math.max(0, Math.ceil(ms / 1000));
    var minutes = Math.floor(seconds / 60);
    var rest = seconds % 60;
    var parts = [];
    if (minutes > 0) {
      parts.push(minutes + (minutes === 1 ? " minute" : " minutes"));
    }
    if (rest > 0 || minutes === 0) {
      parts.push(rest + (rest === 1 ? " second" : " seconds"));
    }
    return parts.join(" ");
  }

  function showWarning(remainingMs) {
    countdown.textContent = describe(remainingMs);
    if (warning) {
      return;
    }
    warning = true;
    if (modal) {
      modal.show();
    } else {
      dialog.classList.add("show");
      dialog.style.display = "block";
      stayButton.focus();
    }
  }

  function hideWarning() {
    if (!warning) {
      return;
    }
    warning = false;
    if (modal) {
      modal.hide();
    } else {
      dialog.classList.remove("show");
      dialog.style.display = "none";
    }
  }

  function leave() {
    if (leaving) {
      return;
    }
    leaving = true;
    var here = window.location.pathname + window.location.search;
    window.location.assign(
      dialog.dataset.loginUrl + "?next=" + encodeURIComponent(here)
    );
  }

  function tick() {
    if (leaving) {
      return;
    }
    var elapsed = Date.now() - latestActivity();
    if (elapsed >= idleMs + LEAVE_MARGIN_MS) {
      leave();
    } else if (elapsed >= warnAfterMs) {
      showWarning(idleMs - elapsed);
    } else {
      hideWarning(); // another tab was active
    }
  }

  function staySignedIn() {
    stayButton.disabled = true;
    window
      .fetch(dialog.dataset.keepaliveUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: {
          "X-CSRFToken": dialog.dataset.csrfToken,
          Accept: "application/json",
        },
      })
      .then(function (response) {
        if (response.status === 204) {
          markActivity();
        } else {
          leave(); // already signed out (401) or redirected to sign in
        }
      })
      .catch(function () {
        // Offline for a moment: keep the warning up so the user can try again.
      })
      .finally(function () {
        stayButton.disabled = false;
      });
  }

  function isBackground(detail) {
    var headers = (detail.requestConfig && detail.requestConfig.headers) || {};
    return headers[BACKGROUND_HEADER] === "1";
  }

  stayButton.addEventListener("click", staySignedIn);
  dialog.addEventListener("shown.bs.modal", function () {
    // Bootstrap sets role="dialog" when it shows a modal; this one interrupts.
    dialog.setAttribute("role", "alertdialog");
    stayButton.focus();
  });
  document.body.addEventListener("htmx:afterRequest", function (event) {
    var xhr = event.detail.xhr;
    if (xhr && xhr.status > 0 && !isBackground(event.detail)) {
      markActivity(); // the server saw a user-made request and extended the session
    }
  });
  window.addEventListener("storage", function (event) {
    if (event.key === STORAGE_KEY) {
      tick();
    }
  });

  markActivity(); // this page load was a user-made request
  window.setInterval(tick, 1000);
})();
