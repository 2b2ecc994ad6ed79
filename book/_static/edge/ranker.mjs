// Chapter 7, "ML in Browsers": rank a session's candidates with the click model, in the browser.
// The runtime, the model and the data sit next to this page in the site's _static folder.
import * as ort from "../onnxruntime-web/ort.wasm.min.mjs";

const here = (path) => new URL(path, import.meta.url).href;
const SLATE_SIZE = 10;

ort.env.wasm.numThreads = 1;  // no cross-origin isolation on a static site: one thread
ort.env.wasm.proxy = false;
ort.env.wasm.wasmPaths = here("../onnxruntime-web/");

const body = document.body;
const userSelect = document.getElementById("user");
const momentSelect = document.getElementById("moment");
const status = document.getElementById("status");
const tbody = document.querySelector("#slate tbody");

function features(candidates, n) {
  const x = new Float32Array(candidates.length * n);
  candidates.forEach((c, row) => {
    c.features.indices.forEach((j, k) => { x[row * n + j] = c.features.values[k]; });
  });
  return new ort.Tensor("float32", x, [candidates.length, n]);
}

function moment(context) {
  const at = new Date(context.shown_at + "Z");
  const when = at.toLocaleString("en-GB", {weekday: "short", day: "numeric", month: "short", hour: "2-digit",
                                            minute: "2-digit", timeZone: "UTC"});
  return `${when} UTC, ${context.device}`;
}

async function main() {
  const data = await (await fetch(here("../edge-model/slates.json"))).json();
  const session = await ort.InferenceSession.create(here(`../edge-model/${data.model}`),
                                                    {executionProviders: ["wasm"]});

  async function rank(u, s) {
    const candidates = data.users[u].sessions[s].candidates;
    const started = performance.now();
    const out = await session.run({[data.input]: features(candidates, data.n_features)});
    const elapsed = performance.now() - started;
    const probabilities = out[data.output];
    const classes = probabilities.dims[1];
    const scored = candidates.map((c, i) => ({c, browser: probabilities.data[i * classes + data.positive_column]}));
    // Best first, ties by item id, as the Python scorer ranks.
    scored.sort((a, b) => (b.browser - a.browser) || (a.c.item_id - b.c.item_id));
    return {scored, elapsed};
  }

  // One ranking at a time, each for the selection as it is when its turn comes.
  let queue = Promise.resolve();
  const show = () => (queue = queue.then(render));

  async function render() {
    const u = Number(userSelect.value), s = Number(momentSelect.value);
    body.dataset.state = "ranking";
    const {scored, elapsed} = await rank(u, s);
    tbody.replaceChildren(...scored.map(({c, browser}, i) => {
      const tr = document.createElement("tr");
      if (i < SLATE_SIZE) tr.className = "shown";
      tr.dataset.itemId = c.item_id;
      tr.dataset.browserScore = String(browser);
      tr.dataset.pythonScore = String(c.python_score);
      const cells = [i + 1, c.title ?? `item ${c.item_id}`, c.category, c.price.toFixed(2), c.rating == null ? "–" : c.rating.toFixed(1),
                     browser.toFixed(6), c.python_score.toFixed(6), Math.abs(browser - c.python_score).toExponential(1)];
      cells.forEach((v, k) => {
        const td = document.createElement("td");
        td.textContent = v;
        if (k === 0 || k >= 3) td.className = "num";
        tr.appendChild(td);
      });
      return tr;
    }));
    const gap = Math.max(...scored.map(({c, browser}) => Math.abs(browser - c.python_score)));
    status.textContent = `${scored.length} candidates scored in ${elapsed.toFixed(1)} ms in this browser; ` +
      `the largest difference from the Python scores is ${gap.toExponential(1)}.`;
    body.dataset.key = `${u},${s}`;
    body.dataset.state = "ranked";
  }

  function fillMoments() {
    const u = Number(userSelect.value);
    momentSelect.replaceChildren(...data.users[u].sessions.map((s, i) => new Option(moment(s.context), String(i))));
  }

  userSelect.replaceChildren(...data.users.map((user, i) =>
    new Option(`user ${user.user_id} (${user.region}, ${user.age ?? "age unknown"})`, String(i))));
  fillMoments();
  userSelect.addEventListener("change", () => { fillMoments(); show(); });
  momentSelect.addEventListener("change", show);
  await show();
}

main().catch((error) => {
  body.dataset.state = "failed";
  status.textContent = `The model could not run in this browser: ${error}`;
  console.error(error);
});
