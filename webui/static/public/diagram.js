/* A published procedure diagram, read-only (bpmn-js navigated viewer, served by the site). */
(function () {
  var el = document.getElementById('diagram');
  if (!el) { return; }
  if (!window.BpmnJS) { el.textContent = '流程图组件未能加载。'; return; }
  var viewer = new window.BpmnJS({ container: el });
  fetch(el.getAttribute('data-xml'))
    .then(function (r) { if (!r.ok) { throw new Error('HTTP ' + r.status); } return r.text(); })
    .then(function (xml) { return viewer.importXML(xml); })
    .then(function () { viewer.get('canvas').zoom('fit-viewport'); el.setAttribute('data-rendered', 'true'); })
    .catch(function () { el.textContent = '流程图无法显示。'; el.setAttribute('data-rendered', 'error'); });
})();
