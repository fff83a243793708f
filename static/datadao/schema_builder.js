// The console's schema builder, enhanced: an "Add a column" button, only the current kind's
// section shown, and "Save the schema from" following whichever editor was last typed in.
// Without this script the builder still works: every section shows and saving adds rows.
(function () {
  "use strict";

  function ready() {
    var builder = document.getElementById("schema-builder");
    if (!builder) return;
    var form = builder.closest("form");
    var jsonArea = form.querySelector("textarea[name=schema]");
    var kindSelect = form.querySelector("select[name=kind]");
    var empty = JSON.parse(builder.dataset.empty || "{}");

    function choose(editor) {
      var radio = form.querySelector("input[name=schema_editor][value=" + editor + "]");
      if (radio) radio.checked = true;
    }

    builder.addEventListener("input", function () { choose("builder"); });
    builder.addEventListener("change", function () { choose("builder"); });
    if (jsonArea) jsonArea.addEventListener("input", function () { choose("json"); });

    var sections = builder.querySelectorAll("[data-schema-kind]");
    function showKind() {
      if (!kindSelect) return;
      sections.forEach(function (section) {
        section.hidden = section.dataset.schemaKind !== kindSelect.value;
      });
    }
    if (kindSelect) {
      var previous = kindSelect.value;
      kindSelect.addEventListener("change", function () {
        // Swap the JSON's starting schema too, unless the creator has written their own.
        if (jsonArea && empty[kindSelect.value] &&
            (jsonArea.value.trim() === (empty[previous] || "").trim() || !jsonArea.value.trim())) {
          jsonArea.value = empty[kindSelect.value];
        }
        previous = kindSelect.value;
        showKind();
      });
      showKind();
    }

    var add = document.getElementById("schema-add-column");
    var template = document.getElementById("schema-column-template");
    var total = form.querySelector("input[name=columns-TOTAL_FORMS]");
    var maxNum = form.querySelector("input[name=columns-MAX_NUM_FORMS]");
    var body = builder.querySelector("#schema-columns tbody");
    if (add && template && total && body) {
      add.hidden = false;
      add.addEventListener("click", function () {
        var index = parseInt(total.value, 10);
        if (maxNum && index >= parseInt(maxNum.value, 10)) return;
        var html = template.innerHTML.replace(/__prefix__/g, String(index));
        body.insertAdjacentHTML("beforeend", html);
        total.value = String(index + 1);
        choose("builder");
      });
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", ready);
  } else {
    ready();
  }
})();
