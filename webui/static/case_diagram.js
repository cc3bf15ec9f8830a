/* The case page's diagram: the deployed BPMN drawn by bpmn-js (served from npm, no CDN),
   completed elements and current tasks marked. */
(function () {
  var el = document.getElementById('diagram');
  if (!el) { return; }
  function ids(text) { return (text || '').split(',').filter(function (s) { return s; }); }
  if (!window.BpmnJS) { el.textContent = '流程图组件未能加载。'; el.setAttribute('data-rendered', 'error'); return; }
  var viewer = new window.BpmnJS({ container: el });
  fetch(el.getAttribute('data-xml'), { credentials: 'same-origin' })
    .then(function (r) { if (!r.ok) { throw new Error('HTTP ' + r.status); } return r.text(); })
    .then(function (xml) { return viewer.importXML(xml); })
    .then(function () {
      var canvas = viewer.get('canvas');
      var registry = viewer.get('elementRegistry');
      canvas.zoom('fit-viewport');
      function mark(list, cls) {
        ids(list).forEach(function (id) { if (registry.get(id)) { canvas.addMarker(id, cls); } });
      }
      mark(el.getAttribute('data-completed'), 'hl-done');
      mark(el.getAttribute('data-current'), 'hl-current');
      // A large diagram is unreadable when fitted: show the current step at a readable size.
      var first = ids(el.getAttribute('data-current')).map(function (id) { return registry.get(id); })
        .filter(function (x) { return x; })[0];
      if (first && canvas.zoom() < 0.7) {
        canvas.zoom(0.9);
        canvas.scrollToElement(first, { top: 160, bottom: 160, left: 300, right: 300 });
      }
      var fit = document.getElementById('diagram-fit');
      if (fit) { fit.hidden = false; fit.addEventListener('click', function () { canvas.zoom('fit-viewport'); }); }
      el.setAttribute('data-rendered', 'true');
    })
    .catch(function (e) {
      var message = e && e.message ? e.message : String(e);
      el.textContent = /no diagram to display/.test(message)  // bpmn-js's words for a model without a layout
        ? '该模型文件没有图形布局（BPMNDiagram），无法显示流程图；办理经过见下方办理记录。'
        : '流程图加载失败：' + message;
      el.setAttribute('data-rendered', 'error');
    });
}());
