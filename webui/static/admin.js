// Decisions drawn by dmn-js (read-only), from the deployed file of this version: the
// decision table, and for a file with several decisions its requirements graph (DRD).
(function () {
  if (typeof DmnJS === 'undefined') { return; }
  function show(el, pick, failure) {
    if (!el) { return; }
    fetch(el.dataset.xml, { credentials: 'same-origin' })
      .then(function (r) { if (!r.ok) { throw new Error('HTTP ' + r.status); } return r.text(); })
      .then(function (xml) {
        el.innerHTML = '';
        var viewer = new DmnJS({ container: el });
        return viewer.importXML(xml).then(function () {
          var view = viewer.getViews().filter(pick)[0];
          if (view) { return viewer.open(view); }
        }).then(function () {
          var active = viewer.getActiveViewer();
          if (active && viewer.getActiveView().type === 'drd') { active.get('canvas').zoom('fit-viewport', 'auto'); }
          el.dataset.ready = 'true';
        });
      })
      .catch(function (e) { el.innerHTML = '<p class="error">' + failure + String(e.message || e).replace(/[<>&]/g, '') + '</p>'; });
  }
  var table = document.getElementById('dmn-viewer');
  show(table, function (v) { return v.type === 'decisionTable' && v.element.id === table.dataset.decision; },
       '决策表图无法显示：');
  show(document.getElementById('drd-viewer'), function (v) { return v.type === 'drd'; }, '决策需求图无法显示：');
})();
