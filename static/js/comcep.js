/* ComCEP: progressive enhancement only; every feature works without JavaScript.
 * Asks for confirmation before leaving a page whose message form holds unsent text. */
(function () {
  "use strict";
  if (!window.addEventListener || !Array.prototype.some) { return; }
  var forms = Array.prototype.filter.call(
    document.querySelectorAll('form[method="post"], form[method="POST"]'),
    function (form) { return form.querySelector("textarea"); }
  );
  if (!forms.length) { return; }
  // After a preview or a validation error, the text shown is still unsent.
  var resent = !!document.querySelector(".preview, .error-summary");
  var submitting = false;
  var watching = false;

  function unsent() {
    return forms.some(function (form) {
      return Array.prototype.some.call(form.querySelectorAll("textarea, input[type=text]"), function (el) {
        return el.value.trim() !== "" && (el.value !== el.defaultValue || (resent && el.tagName === "TEXTAREA"));
      });
    });
  }

  function onBeforeUnload(event) {
    if (submitting || !unsent()) { return; }
    event.preventDefault();
    event.returnValue = "";
  }

  function watch() {
    if (watching) { return; }
    watching = true;
    window.addEventListener("beforeunload", onBeforeUnload);
  }

  forms.forEach(function (form) {
    form.addEventListener("input", watch);
    form.addEventListener("submit", function () { submitting = true; });
  });
  window.addEventListener("pageshow", function () { submitting = false; });
  if (resent) { watch(); }
})();

/* Suggestions while typing in a field marked data-suggest-url: member names for the
 * recipients of a private message (among those the writer may see), topics for a merge.
 * A list of names separated by commas completes its last one, unless data-suggest-single. */
(function () {
  "use strict";
  if (!window.fetch || !document.querySelectorAll) { return; }
  Array.prototype.forEach.call(document.querySelectorAll("input[data-suggest-url]"), function (input) {
    var list = document.getElementById(input.getAttribute("list"));
    if (!list) { return; }
    var timer = null;
    var asked = "";

    function fill(head, names) {
      while (list.firstChild) { list.removeChild(list.firstChild); }
      names.forEach(function (name) {
        var option = document.createElement("option");
        option.value = head + name;
        list.appendChild(option);
      });
    }

    function suggest() {
      var value = input.value;
      var single = input.hasAttribute("data-suggest-single");
      var cut = single ? 0 : value.lastIndexOf(",") + 1;
      var head = cut ? value.slice(0, cut).replace(/\s*$/, " ") : "";
      var typed = value.slice(cut).trim();
      if (typed.length < 2 || typed === asked) { return; }
      asked = typed;
      var url = input.getAttribute("data-suggest-url") + "?q=" + encodeURIComponent(typed);
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) { return response.ok ? response.json() : { noms: [] }; })
        .then(function (data) { if (asked === typed) { fill(head, data.noms || []); } })
        .catch(function () { /* no suggestions: the field still works as typed */ });
    }

    input.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(suggest, 150);
    });
  });
})();

/* « @ » in a message offers the names of members the writer may see (the same suggestions as
 * for recipients): arrows choose, Entrée or Tab writes « @Prénom Nom », Échap closes. The
 * list follows the textarea; without JavaScript, a name typed in full still mentions. */
(function () {
  "use strict";
  if (!window.fetch || !document.querySelectorAll) { return; }
  var NAME = "\\p{L}'’-";  // any alphabet's letters (« Cœur »), as the server reads names
  // Up to four words, as the server reads a mention (« @Marie de La Tour »).
  var typing = new RegExp("(?:^|[^\\w@/.])@([" + NAME + "]{2,}(?: [" + NAME + "]*){0,3})$", "u");
  var count = 0;

  Array.prototype.forEach.call(document.querySelectorAll("textarea[data-mention-url]"), function (area) {
    count += 1;
    var listId = "mention-list-" + count;
    var list = document.createElement("ul");
    list.id = listId;
    list.className = "mention-list";
    list.setAttribute("role", "listbox");
    list.setAttribute("aria-label", "Membres à mentionner");
    list.hidden = true;
    var status = document.createElement("p");
    status.className = "visually-hidden";
    status.setAttribute("role", "status");
    area.parentNode.insertBefore(list, area.nextSibling);
    area.parentNode.insertBefore(status, list.nextSibling);
    area.parentNode.classList.add("field--mentions");
    area.setAttribute("aria-autocomplete", "list");
    area.setAttribute("aria-controls", listId);

    var timer = null;
    var asked = "";
    var names = [];
    var active = -1;
    var start = -1;  // where « @ » is, in the text

    function close() {
      asked = "";
      list.hidden = true;
      names = [];
      active = -1;
      area.removeAttribute("aria-activedescendant");
    }

    function highlight(index) {
      active = index;
      Array.prototype.forEach.call(list.children, function (item, n) {
        item.setAttribute("aria-selected", n === index ? "true" : "false");
      });
      if (index >= 0) {
        area.setAttribute("aria-activedescendant", listId + "-" + index);
        status.textContent = names[index] + " (" + (index + 1) + " sur " + names.length + ")";
      }
    }

    function pick(index) {
      var name = names[index];
      var caret = area.selectionStart;
      // The caret may have moved since the list opened (a click, End…): write the name
      // only over the « @… » just before it, never over the text in between.
      var match = typing.exec(area.value.slice(0, caret));
      if (!match || caret - match[1].length - 1 !== start) { close(); return; }
      var before = area.value.slice(0, start) + "@" + name + " ";
      area.value = before + area.value.slice(caret);
      area.setSelectionRange(before.length, before.length);
      close();
      area.focus();
      area.dispatchEvent(new Event("input", { bubbles: true }));
      status.textContent = "@" + name + " ajouté";
    }

    function show(found) {
      while (list.firstChild) { list.removeChild(list.firstChild); }
      names = found;
      if (!names.length) { close(); status.textContent = ""; return; }
      names.forEach(function (name, n) {
        var item = document.createElement("li");
        item.id = listId + "-" + n;
        item.setAttribute("role", "option");
        item.textContent = name;
        item.addEventListener("mousedown", function (event) {
          event.preventDefault();  // keep the focus (and the caret) in the textarea
          pick(n);
        });
        list.appendChild(item);
      });
      list.style.top = area.offsetTop + area.offsetHeight + "px";
      list.hidden = false;
      highlight(0);
      status.textContent = (names.length === 1 ? "1 membre proposé : " : names.length + " membres proposés, dont ")
        + names[0] + ". Flèches pour choisir, Entrée pour écrire le nom.";
    }

    function suggest() {
      var match = typing.exec(area.value.slice(0, area.selectionStart));
      if (!match) { asked = ""; close(); return; }
      var typed = match[1];
      start = area.selectionStart - typed.length - 1;
      if (typed === asked) { return; }
      asked = typed;
      var url = area.getAttribute("data-mention-url") + "?q=" + encodeURIComponent(typed.trim());
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) { return response.ok ? response.json() : { noms: [] }; })
        .then(function (data) { if (asked === typed) { show(data.noms || []); } })
        .catch(function () { close(); });
    }

    area.addEventListener("input", function (event) {
      if (!event.isTrusted) { return; }  // the name just written
      window.clearTimeout(timer);
      timer = window.setTimeout(suggest, 150);
    });
    area.addEventListener("keydown", function (event) {
      if (list.hidden) { return; }
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        var step = event.key === "ArrowDown" ? 1 : names.length - 1;
        highlight((active + step) % names.length);
        event.preventDefault();
      } else if ((event.key === "Enter" || event.key === "Tab") && active >= 0) {
        pick(active);
        event.preventDefault();
      } else if (event.key === "Escape") {
        close();
        event.preventDefault();
      } else if (["ArrowLeft", "ArrowRight", "Home", "End", "PageUp", "PageDown"].indexOf(event.key) >= 0) {
        close();  // the caret leaves the name being typed
      }
    });
    area.addEventListener("mousedown", close);
    area.addEventListener("blur", close);
  });
})();

/* On a phone the forum's links scroll sideways in one row: bring the current one into it
 * (by the row's own scroll, never the page's: an address with #p123 keeps its place). */
(function () {
  "use strict";
  var current = document.querySelector(".main-nav [aria-current=page]");
  if (!current || !current.getBoundingClientRect) { return; }
  var row = current.parentNode.parentNode;
  var beyond = current.getBoundingClientRect().right - row.getBoundingClientRect().right;
  if (beyond > 0) { row.scrollLeft += beyond + 16; }
})();

/* « Merci » without leaving the page: the link (to who thanked, with its button) becomes a
 * toggle button that posts the page's CSRF token and reads the new count back. Any failure
 * falls back to that page, where the same button works without a script. */
(function () {
  "use strict";
  var posts = document.querySelector(".posts[data-csrf]");
  if (!posts || !window.fetch || !window.FormData) { return; }
  var token = posts.getAttribute("data-csrf");
  var status = null;  // the answer, read out by screen readers (the count changes silently)
  function announce(text) {
    if (!status) {
      status = document.createElement("p");
      status.className = "visually-hidden";
      status.setAttribute("role", "status");
      posts.parentNode.insertBefore(status, posts.nextSibling);
    }
    status.textContent = text;
  }
  Array.prototype.forEach.call(posts.querySelectorAll("a.thanks[data-thanks-url]"), function (link) {
    var label = link.lastElementChild;  // « pour le message n° … », for screen readers
    var busy = false;
    link.setAttribute("role", "button");
    link.setAttribute("aria-pressed", link.getAttribute("data-given") === "1" ? "true" : "false");

    function show(given, count) {
      link.setAttribute("data-given", given ? "1" : "0");
      link.setAttribute("aria-pressed", given ? "true" : "false");
      link.classList.toggle("thanks--given", given);
      link.firstChild.nodeValue = given ? "Remercié" : "Merci";
      var counter = link.parentNode.querySelector(".thanks-count");
      if (count > 0) {
        if (!counter) {
          counter = document.createElement("a");
          counter.className = "thanks-count";
          counter.href = link.getAttribute("href");
          counter.title = "Voir qui a remercié";
          counter.appendChild(document.createTextNode(""));
          var hidden = document.createElement("span");
          hidden.className = "visually-hidden";
          hidden.textContent = " : voir qui a remercié l'auteur du message" + (label ? label.textContent.replace(/^ pour le message/, "") : "");
          counter.appendChild(hidden);
          link.parentNode.insertBefore(counter, link.nextSibling);
        }
        counter.firstChild.nodeValue = count + " merci";
      } else if (counter) {
        counter.parentNode.removeChild(counter);
      }
    }

    function send() {
      if (busy) { return; }
      busy = true;
      var data = new FormData();
      data.append("csrf_token", token);
      data.append("action", link.getAttribute("data-given") === "1" ? "retirer" : "donner");
      fetch(link.getAttribute("data-thanks-url"), {
        method: "POST", body: data, credentials: "same-origin", headers: { Accept: "application/json" }
      })
        .then(function (response) {
          if (!response.ok) { throw new Error(String(response.status)); }
          return response.json();
        })
        .then(function (answer) {
          show(answer.donne, answer.merci);
          announce(answer.message + " " + answer.merci + (answer.merci > 1 ? " remerciements." : " remerciement."));
          busy = false;
        })
        .catch(function () { window.location.href = link.getAttribute("href"); });
    }

    link.addEventListener("click", function (event) { event.preventDefault(); send(); });
    link.addEventListener("keydown", function (event) {
      if (event.key === " ") { event.preventDefault(); send(); }
    });
  });
})();

/* A phone's « Menu » (a <details>, usable without script): Escape closes it and gives the
 * focus back to « Menu »; a click or a focus elsewhere on the page closes it too. */
(function () {
  "use strict";
  var menu = document.querySelector(".mobile-menu");
  if (!menu || !document.addEventListener) { return; }
  function close(refocus) {
    if (!menu.open) { return; }
    menu.open = false;
    if (refocus) { menu.querySelector("summary").focus(); }
  }
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && menu.contains(document.activeElement)) { close(true); }
  });
  document.addEventListener("click", function (event) {
    if (!menu.contains(event.target)) { close(false); }
  });
  document.addEventListener("focusin", function (event) {
    if (!menu.contains(event.target)) { close(false); }
  });
}());

/* « Citer » opens the reply with the quote in the box: the cursor waits after it, in the
 * box, ready for the answer (it stood before the quote, outside the box). */
(function () {
  "use strict";
  if (!/[?&]citer=\d/.test(window.location.search)) { return; }
  var box = document.querySelector("textarea#body");
  if (!box || document.querySelector(".error-summary") || !box.setSelectionRange) { return; }
  box.focus();
  box.setSelectionRange(box.value.length, box.value.length);
  box.scrollTop = box.scrollHeight;
}());

/* « Prévisualiser » shows the preview in place, without sending the form: the files chosen
 * stay chosen (a browser never refills a file field) and the page keeps its place. If the
 * preview cannot be had (offline, a session expired), the button sends the form as before,
 * which is also what it does without JavaScript. */
(function () {
  "use strict";
  if (!window.fetch || !window.FormData || !document.querySelectorAll) { return; }
  var made = 0;

  function section(form, textarea) {
    var shown = form.querySelector(".preview");
    if (shown) { return shown; }
    made += 1;
    var box = document.createElement("section");
    box.className = "preview";
    box.setAttribute("aria-labelledby", "preview-title-" + made);
    var title = document.createElement("h2");
    title.id = "preview-title-" + made;
    title.textContent = "Aperçu";
    box.appendChild(title);
    var field = textarea.closest(".field") || textarea;
    field.parentNode.insertBefore(box, field);
    return box;
  }

  function show(box, html, error) {
    box.setAttribute("aria-live", "polite");
    Array.prototype.slice.call(box.children, 1).forEach(function (el) { box.removeChild(el); });
    var content = document.createElement("div");
    if (error) {
      content.className = "field__error";
      content.textContent = error;
    } else {
      content.innerHTML = html;  // sanitised by the server, as every post it stores
    }
    box.appendChild(content);
  }

  Array.prototype.forEach.call(document.querySelectorAll("[data-preview-url]"), function (button) {
    var form = button.form;
    var textarea = form && form.querySelector("textarea[name=body]");
    var token = form && form.querySelector("input[name=csrf_token]");
    if (!textarea || !token) { return; }
    var sending = false;
    button.addEventListener("click", function (event) {
      if (button.hasAttribute("data-preview-send")) { return; }  // the fallback below
      event.preventDefault();
      if (sending) { return; }
      if (!textarea.value.trim()) {
        show(section(form, textarea), "", "Le message est vide : rien à prévisualiser.");
        textarea.focus();
        return;
      }
      sending = true;
      var data = new FormData();
      data.append("csrf_token", token.value);
      data.append("body", textarea.value);
      fetch(button.getAttribute("data-preview-url"), {
        method: "POST",
        body: data,
        credentials: "same-origin",
        headers: { Accept: "application/json" }
      })
        .then(function (response) {
          var json = (response.headers.get("Content-Type") || "").indexOf("json") !== -1;
          if (!json) { throw new Error("no preview"); }
          return response.json();
        })
        .then(function (answer) {
          sending = false;
          if (answer.html === undefined && !answer.erreur) { throw new Error("no preview"); }
          show(section(form, textarea), answer.html, answer.erreur);
        })
        .catch(function () {
          sending = false;
          button.setAttribute("data-preview-send", "");
          button.click();
        });
    });
  });
})();
