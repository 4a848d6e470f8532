// The composer's "Insert an article" (templates/agents/_kb_search.html). A public article goes in
// as a Markdown link to the portal; an agents-only article goes in as its text and the composer
// switches to "Internal note". While that text is in the box, the composer is not sent as a reply:
// switching back to "Reply" shows a warning, and sending as a reply is stopped. The server cannot
// tell where a text came from: this guard is the browser's.
(function () {
  "use strict";

  // Agents-only texts put into the composer on this page.
  var inserted = [];

  function section() {
    return document.querySelector(".kb-insert");
  }

  function body() {
    var box = section();
    var composer = box && box.closest(".composer");
    return composer ? composer.querySelector("textarea[name=body]") : null;
  }

  function kind(field, value) {
    return field.form ? field.form.querySelector('input[name="kind"][value="' + value + '"]') : null;
  }

  function warningBox() {
    var box = section();
    return box && box.querySelector(".kb-note-warning");
  }

  // The warnings' sentences, translated by the template (data-in-note, data-in-reply, data-not-sent).
  function sentence(name) {
    var box = warningBox();
    return (box && box.getAttribute("data-" + name)) || "";
  }

  function warn(text) {
    var warning = warningBox();
    if (!warning) return;
    warning.textContent = text || "";
    warning.hidden = !text;
    // An alert while shown only (the page's one alert otherwise is the result of an action).
    if (text) warning.setAttribute("role", "alert");
    else warning.removeAttribute("role");
  }

  function holdsAgentsOnlyText(field) {
    return inserted.some(function (text) {
      return text && field.value.indexOf(text) !== -1;
    });
  }

  function insert(field, text, block) {
    var start = field.selectionStart === undefined ? field.value.length : field.selectionStart;
    var end = field.selectionEnd === undefined ? start : field.selectionEnd;
    var before = field.value.slice(0, start);
    var after = field.value.slice(end);
    var gap = "";
    if (before && !/\s$/.test(before)) gap = block ? "\n\n" : " ";
    else if (before && block && !/\n\n$/.test(before)) gap = /\n$/.test(before) ? "\n" : "\n\n";
    field.value = before + gap + text + after;
    var caret = (before + gap + text).length;
    field.focus();
    field.setSelectionRange(caret, caret);
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-kb-insert]");
    if (!button) return;
    var field = body();
    if (!field) return;
    var agentsOnly = button.getAttribute("data-kb-insert") === "note";
    var text = button.getAttribute("data-kb-text");
    insert(field, text, agentsOnly);
    if (agentsOnly) {
      inserted.push(text);
      var note = kind(field, "note");
      if (note) note.checked = true;
      warn(sentence("in-note"));
    }
  });

  document.addEventListener("change", function (event) {
    var field = body();
    if (!field || event.target.name !== "kind" || event.target.form !== field.form) return;
    if (event.target.value === "reply" && holdsAgentsOnlyText(field)) {
      warn(sentence("in-reply"));
    } else if (holdsAgentsOnlyText(field)) {
      warn(sentence("in-note"));
    } else {
      warn("");
    }
  });

  // Capture: runs before anything else handles the composer's submission.
  document.addEventListener(
    "submit",
    function (event) {
      var field = body();
      if (!field || event.target !== field.form) return;
      var reply = kind(field, "reply");
      if (reply && reply.checked && holdsAgentsOnlyText(field)) {
        event.preventDefault();
        event.stopPropagation();
        warn(sentence("not-sent"));
        var warning = warningBox();
        if (warning.scrollIntoView) warning.scrollIntoView({ block: "center" });
      }
    },
    true
  );
})();
