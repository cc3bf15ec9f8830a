// Decisions drawn by dmn-js (read-only), from the deployed file of this version: the
// decision table, and for a file with several decisions its requirements graph (DRD).
(function () {
  if (typeof DmnJS === 'undefined') { return; }
  // dmn-js's own labels in Chinese (its translate service; {placeholders} filled in as it does).
  var WORDS = {
    'Hit policy:': '命中策略：', 'Hit policy': '命中策略', 'When': '当', 'And': '且', 'Then': '则',
    'Annotations': '说明', 'Annotation': '说明', 'Input': '输入', 'Output': '输出', 'View DRD': '查看决策关系图',
    'Decision name': '决策名称', 'Decision name: ': '决策名称：', 'Input expression': '输入表达式',
    'Input label': '输入标签', 'Output label': '输出标签', 'Output name': '输出名称', 'Expression': '表达式',
    'Unique': '唯一（Unique）', 'First': '首个命中（First）', 'Priority': '优先级（Priority）', 'Any': '任一（Any）',
    'Collect': '收集（Collect）', 'Collect (Sum)': '收集·求和', 'Collect (Min)': '收集·最小值',
    'Collect (Max)': '收集·最大值', 'Collect (Count)': '收集·计数', 'Rule order': '规则顺序（Rule order）',
    'Output order': '输出顺序（Output order）'
  };
  var CHINESE = {
    translate: ['value', function (template, replacements) {
      var text = WORDS[template] || template;
      return text.replace(/{([^}]+)}/g, function (_, key) { return (replacements || {})[key] || '{' + key + '}'; });
    }]
  };
  function show(el, pick, failure) {
    if (!el) { return; }
    fetch(el.dataset.xml, { credentials: 'same-origin' })
      .then(function (r) { if (!r.ok) { throw new Error('HTTP ' + r.status); } return r.text(); })
      .then(function (xml) {
        el.innerHTML = '';
        var viewer = new DmnJS({ container: el, drd: { additionalModules: [CHINESE] },
          decisionTable: { additionalModules: [CHINESE] }, literalExpression: { additionalModules: [CHINESE] } });
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
