// Loaded after require.js and before the widget manager (see nb_ipywidgets_js in _config.yml).
// require.js resolves module files against the page's folder by default; the widget manager's
// own files (its icon fonts) lie beside this script in _static/, so resolve against that.
(function () {
  var here = document.currentScript.src;
  require.config({ baseUrl: here.substring(0, here.lastIndexOf("/") + 1) });
})();
