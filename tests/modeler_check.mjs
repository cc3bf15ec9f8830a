// Imports BPMN / DMN files the way Camunda Modeler does (bpmn-moddle / dmn-moddle with the
// Camunda extensions) and reports, as JSON on stdout, per file: import warnings and the flow
// elements that have no diagram shape or edge.
//   node tests/modeler_check.mjs bpmn/penalty.bpmn dmn/legal_review.dmn ...
// With ZHIFA_ROUNDTRIP=1 each result also holds the file as the modeler would save it again ("xml").
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import BpmnModdle from 'bpmn-moddle';
import DmnModdle from 'dmn-moddle';

const require = createRequire(import.meta.url);
const camundaBpmn = require('camunda-bpmn-moddle/resources/camunda.json');
const camundaDmn = require('camunda-dmn-moddle/resources/camunda.json');

function collectBpmn(definitions) {
  const elements = [];   // flow elements, lanes, participants, message flows
  const diRefs = new Set();
  const visit = (container) => {
    for (const el of container.flowElements || []) {
      elements.push(el);
      if (el.flowElements) visit(el);
    }
    for (const el of container.artifacts || []) {
      if (el.$type !== 'bpmn:TextAnnotation' && el.$type !== 'bpmn:Association') continue;
      elements.push(el);
    }
    for (const ls of container.laneSets || []) {
      const lanes = (set) => {
        for (const lane of set.lanes || []) {
          elements.push(lane);
          if (lane.childLaneSet) lanes(lane.childLaneSet);
        }
      };
      lanes(ls);
    }
  };
  for (const root of definitions.rootElements || []) {
    if (root.$type === 'bpmn:Process') visit(root);
    if (root.$type === 'bpmn:Collaboration') {
      for (const p of root.participants || []) elements.push(p);
      for (const m of root.messageFlows || []) elements.push(m);
    }
  }
  for (const diagram of definitions.diagrams || []) {
    const plane = diagram.plane;
    if (!plane) continue;
    for (const di of plane.planeElement || []) {
      if (di.bpmnElement) diRefs.add(di.bpmnElement.id);
    }
  }
  const missing = elements
    .filter((el) => !diRefs.has(el.id))
    .map((el) => `${el.$type} ${el.id}`);
  return { count: elements.length, missing };
}

function collectDmn(definitions) {
  const elements = [];
  for (const el of definitions.drgElement || []) elements.push(el);
  for (const el of definitions.artifact || []) elements.push(el);
  const diRefs = new Set();
  const dmndi = definitions.dmnDI;
  for (const diagram of (dmndi && dmndi.diagrams) || []) {
    for (const di of diagram.diagramElements || []) {
      if (di.dmnElementRef) diRefs.add(di.dmnElementRef.id);
    }
  }
  const missing = elements
    .filter((el) => !diRefs.has(el.id))
    .map((el) => `${el.$type} ${el.id}`);
  return { count: elements.length, missing };
}

const results = {};
for (const file of process.argv.slice(2)) {
  const xml = readFileSync(file, 'utf8');
  const result = { warnings: [], missing_di: [], elements: 0, error: null };
  try {
    if (file.endsWith('.bpmn')) {
      const moddle = new BpmnModdle({ camunda: camundaBpmn });
      const { rootElement, warnings } = await moddle.fromXML(xml, 'bpmn:Definitions');
      result.warnings = warnings.map((w) => w.message);
      const c = collectBpmn(rootElement);
      result.missing_di = c.missing;
      result.elements = c.count;
      if (process.env.ZHIFA_ROUNDTRIP) { result.xml = (await moddle.toXML(rootElement, { format: true })).xml; }
    } else if (file.endsWith('.dmn')) {
      const moddle = new DmnModdle({ camunda: camundaDmn });
      const { rootElement, warnings } = await moddle.fromXML(xml, 'dmn:Definitions');
      result.warnings = warnings.map((w) => w.message);
      const c = collectDmn(rootElement);
      result.missing_di = c.missing;
      result.elements = c.count;
      if (process.env.ZHIFA_ROUNDTRIP) { result.xml = (await moddle.toXML(rootElement, { format: true })).xml; }
    } else {
      result.error = 'unknown file type';
    }
  } catch (err) {
    result.error = String(err && err.message ? err.message : err);
  }
  results[file] = result;
}
process.stdout.write(JSON.stringify(results, null, 2) + '\n');
