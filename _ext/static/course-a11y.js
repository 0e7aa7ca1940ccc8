/* Accessibility the book adds once its widgets and figures are drawn (loaded on every page by
 * _ext/course_assets.py; checked by tests/browser/test_accessibility.py):
 *
 * - Sliders of the static ipywidgets get a name. ipywidgets 8 draws a slider as a noUiSlider
 *   handle (role="slider") next to a <label> holding the widget's description, but never ties
 *   the two together, so a screen reader announced an unnamed slider (axe rule
 *   aria-input-field-name). The handle is named after the description.
 * - Output areas that scroll sideways (wide tables, wide figures; see course.css) can be
 *   reached and scrolled with the keyboard (WCAG 2.1.1, axe rule scrollable-region-focusable):
 *   each one that overflows gets tabindex="0" and, if it has none, a role and a name. The
 *   theme does the same for code blocks and whole outputs, not for these.
 *
 * Widgets render after the page's load event, so both run again whenever the main content
 * changes, and when the window is resized (a region may start or stop overflowing).
 */
(function () {
  "use strict";

  /* Containers course.css lets scroll sideways, and the name each gets when it has none. */
  var SCROLLABLE = [
    [".cell_output table", "Output table, scrolls sideways"],
    ['.cell_output [role="figure"]', "Figure, scrolls sideways"],
    [".cell_output .js-plotly-plot", "Figure, scrolls sideways"],
  ];

  function nameWidgetSliders(root) {
    root.querySelectorAll('.noUi-handle[role="slider"]:not([aria-label])').forEach(function (handle) {
      var widget = handle.closest(".widget-slider");
      var label = widget ? widget.querySelector(".widget-label") : null;
      var name = label ? label.textContent.trim() : "";
      handle.setAttribute("aria-label", name || "slider");
    });
  }

  function hasName(el) {
    return (
      el.hasAttribute("aria-label") ||
      el.hasAttribute("aria-labelledby") ||
      (el.tagName === "TABLE" && el.querySelector("caption") !== null)
    );
  }

  function markScrollableRegions(root) {
    SCROLLABLE.forEach(function (entry) {
      root.querySelectorAll(entry[0]).forEach(function (el) {
        var overflows = el.scrollWidth > el.clientWidth + 1 || el.scrollHeight > el.clientHeight + 1;
        if (overflows && !el.hasAttribute("tabindex")) {
          var added = ["tabindex"]; // remembered, to undo exactly this if it stops overflowing
          el.setAttribute("tabindex", "0");
          if (!el.hasAttribute("role") && el.tagName === "DIV") {
            el.setAttribute("role", "region");
            added.push("role");
          }
          if (!hasName(el)) {
            el.setAttribute("aria-label", entry[1]);
            added.push("aria-label");
          }
          el.dataset.courseScrollable = added.join(" ");
        } else if (!overflows && el.dataset.courseScrollable) {
          el.dataset.courseScrollable.split(" ").forEach(function (name) {
            el.removeAttribute(name); // no longer scrolls: no tab stop, no landmark
          });
          delete el.dataset.courseScrollable;
        }
      });
    });
  }

  var scheduled = false;
  function update() {
    if (scheduled) return;
    scheduled = true;
    window.setTimeout(function () {
      scheduled = false;
      nameWidgetSliders(document);
      markScrollableRegions(document);
    }, 100);
  }

  function start() {
    update();
    var main = document.getElementById("main-content") || document.body;
    new MutationObserver(update).observe(main, { subtree: true, childList: true });
    window.addEventListener("resize", update);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
  window.addEventListener("load", update);
})();
