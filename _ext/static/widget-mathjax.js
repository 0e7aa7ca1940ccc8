// Loaded before the widget manager on pages that hold widgets (nb_ipywidgets_js in _config.yml).
// The widget manager typesets maths in widget labels with MathJax 2's API,
// MathJax.Hub.Queue(["Typeset", MathJax.Hub, element]); the book serves MathJax 3, which has
// no Hub, so every label would throw "Cannot read properties of undefined (reading 'Queue')".
// This stand-in forwards those calls to MathJax 3's typesetPromise.
(function () {
  var hub = {
    Queue: function (command) {
      var element = command[2];
      var mathjax = window.MathJax;
      if (element && mathjax && mathjax.typesetPromise) {
        mathjax.typesetPromise([element]).catch(function () {});
      }
    },
  };
  var mathjax = window.MathJax;
  if (mathjax === undefined) return; // no maths on this page: the widget manager skips typesetting
  mathjax.Hub = mathjax.Hub || hub;
  if (mathjax.version) return; // MathJax 3 has started already
  // Still the configuration object: MathJax 3 replaces window.MathJax when it starts, so put
  // the stand-in on the new object too, as soon as MathJax is ready.
  mathjax.startup = mathjax.startup || {};
  var ready = mathjax.startup.ready;
  mathjax.startup.ready = function () {
    if (ready) ready();
    else window.MathJax.startup.defaultReady();
    window.MathJax.Hub = window.MathJax.Hub || hub;
  };
})();
