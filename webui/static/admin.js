// The decision table drawn by dmn-js (read-only), from the deployed file of this version.
(function () {
  var el = document.getElementById('dmn-viewer');
  if (!el || typeof DmnJS === 'undefined') { return; }
  fetch(el.dataset.xml, { credentials: 'same-origin' })
    .then(function (r) { if (!r.ok) { throw new Error('HTTP ' + r.status); } return r.text(); })
    .then(function (xml) {
      el.innerHTML = '';
      var viewer = new DmnJS({ container: el });
      return viewer.importXML(xml).then(function () {
        var table = viewer.getViews().filter(function (v) {
          return v.type === 'decisionTable' && v.element.id === el.dataset.decision;
        })[0];
        if (table) { return viewer.open(table); }
      }).then(function () { el.dataset.ready = 'true'; });
    })
    .catch(function (e) { el.innerHTML = '<p class="error">决策表图无法显示：' + String(e.message || e).replace(/[<>&]/g, '') + '</p>'; });
})();
