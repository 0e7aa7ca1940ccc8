/* Accessibility the book adds once its widgets and figures are drawn (loaded on every page by
 * _ext/course_assets.py; checked by tests/browser/test_accessibility.py):
 *
 * - Sliders of the static ipywidgets get a name. ipywidgets 8 draws a slider as a noUiSlider
 *   handle (role="slider") next to a <label> holding the widget's description, but never ties
 *   the two together, so a screen reader announced an unnamed slider (axe rule
 *   aria-input-field-name). The handle is named after the description.
 * - The sliders and Play/Pause buttons of plotly figures (the widgets' static stand-ins) are
 *   drawn in SVG, for the mouse only. They become a named slider (arrow keys, Home, End) and
 *   buttons (Enter, Space) that keyboards and screen readers can operate (WCAG 2.1.1, 4.1.2).
 * - Output areas that scroll sideways (wide tables, wide figures; see course.css) can be
 *   reached and scrolled with the keyboard (WCAG 2.1.1, axe rule scrollable-region-focusable):
 *   each one that overflows gets tabindex="0" and, if it has none, a role and a name. The
 *   theme does the same for code blocks and whole outputs, not for these.
 *
 * Widgets render after the page's load event, so all of this runs again whenever the main
 * content changes, and when the window is resized or the theme changes (a region may start or
 * stop overflowing).
 */
(function () {
  "use strict";

  /* Containers course.css lets scroll sideways, and the name each gets when it has none. */
  var SCROLLABLE = [
    [".cell_output table", "Output table, scrolls sideways"],
    ['.cell_output [role="figure"]', "Figure, scrolls sideways"],
    [".cell_output .js-plotly-plot", "Figure, scrolls sideways"],
    // ipywidgets boxes scroll what does not fit (e.g. tqdm's progress bar on a narrow page)
    [".cell_output .widget-box", "Widgets, scroll sideways"],
  ];

  function nameWidgetSliders(root) {
    root.querySelectorAll('.noUi-handle[role="slider"]:not([aria-label])').forEach(function (handle) {
      var widget = handle.closest(".widget-slider");
      var label = widget ? widget.querySelector(".widget-label") : null;
      var name = label ? label.textContent.trim() : "";
      handle.setAttribute("aria-label", name || "slider");
    });
  }

  /* The step a plotly slider stands on, as plotly itself would run it when clicked. */
  function runPlotlyStep(gd, sliderIndex, stepIndex) {
    var step = gd.layout.sliders[sliderIndex].steps[stepIndex];
    var update = {};
    update["sliders[" + sliderIndex + "].active"] = stepIndex;
    window.Plotly.relayout(gd, update);
    if (step.method === "animate") {
      window.Plotly.animate(gd, step.args[0], step.args[1]);
    } else if (step.method && step.method !== "skip" && window.Plotly[step.method]) {
      window.Plotly[step.method].apply(null, [gd].concat(step.args || []));
    }
  }

  function describeSlider(group, slider) {
    var active = slider.active || 0;
    var prefix = ((slider.currentvalue && slider.currentvalue.prefix) || "").replace(/[:\s]+$/, "");
    group.setAttribute("aria-label", prefix || "frame");
    group.setAttribute("aria-valuemin", "0");
    group.setAttribute("aria-valuemax", String(slider.steps.length - 1));
    group.setAttribute("aria-valuenow", String(active));
    group.setAttribute("aria-valuetext", String(slider.steps[active].label));
  }

  var STEP_KEYS = { ArrowRight: 1, ArrowUp: 1, ArrowLeft: -1, ArrowDown: -1 };

  function operablePlotlyControls(root) {
    if (!window.Plotly) return;
    root.querySelectorAll(".js-plotly-plot").forEach(function (gd) {
      var sliders = (gd.layout && gd.layout.sliders) || [];
      gd.querySelectorAll("g.slider-container").forEach(function (group, index) {
        var slider = sliders[index];
        if (!slider || !slider.steps || !slider.steps.length) return;
        describeSlider(group, slider); // again after every redraw: the value may have moved
        if (group.dataset.courseKeyboard) return;
        group.dataset.courseKeyboard = "slider";
        group.setAttribute("tabindex", "0");
        group.setAttribute("role", "slider");
        group.addEventListener("keydown", function (event) {
          var last = slider.steps.length - 1;
          var now = gd.layout.sliders[index].active || 0;
          var next = now + (STEP_KEYS[event.key] || 0);
          if (event.key === "Home") next = 0;
          if (event.key === "End") next = last;
          next = Math.max(0, Math.min(last, next));
          if (next === now && !(event.key in STEP_KEYS)) return;
          event.preventDefault();
          if (next !== now) runPlotlyStep(gd, index, next);
        });
      });
      gd.querySelectorAll("g.updatemenu-button").forEach(function (button) {
        if (button.dataset.courseKeyboard) return;
        button.dataset.courseKeyboard = "button";
        button.setAttribute("tabindex", "0");
        button.setAttribute("role", "button");
        button.setAttribute("aria-label", button.textContent.trim() || "button");
        button.addEventListener("keydown", function (event) {
          if (event.key !== "Enter" && event.key !== " ") return;
          event.preventDefault();
          button.dispatchEvent(new MouseEvent("click", { bubbles: true }));
        });
      });
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
      operablePlotlyControls(document);
      markScrollableRegions(document);
    }, 100);
  }

  function start() {
    update();
    var main = document.getElementById("main-content") || document.body;
    new MutationObserver(update).observe(main, { subtree: true, childList: true });
    // a new theme may change fonts and so what overflows
    new MutationObserver(update).observe(document.documentElement, {
      attributes: true,
      attributeFilter: ["data-theme"],
    });
    window.addEventListener("resize", update);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
  window.addEventListener("load", update);
})();
