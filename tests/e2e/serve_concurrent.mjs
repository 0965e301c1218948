// Concurrent clients against one model (tests/e2e/serve_test.cpp runs this): every request is
// first run alone, then all at once (streaming and not); the server batches them, and each
// answer must be exactly its alone answer (greedy and seeded sampling both). Env as in
// serve_openai.mjs.
import assert from 'node:assert/strict';
import {requirePackage} from './npm_packages.mjs';

const OpenAI = requirePackage('openai');

const base = process.env.LYRA_BASE;
const model = process.env.LYRA_MODEL;
const client = new OpenAI({ baseURL: `${base}/v1`, apiKey: process.env.LYRA_KEY || 'none', maxRetries: 0 });

const prompts = ['ROMEO:\n', 'JULIET:\n', 'First Citizen:\n', 'KING HENRY:\n', 'O', 'What', 'MENENIUS:\n', 'A'];
const requests = prompts.map((prompt, i) => ({
  model, prompt, max_tokens: 30 + 10 * i, temperature: i % 2 ? 0.8 : 0, seed: 1000 + i,
}));

async function streamText(req) {
  let text = '';
  let finish = null;
  for await (const chunk of await client.completions.create({ ...req, stream: true })) {
    for (const c of chunk.choices) {
      text += c.text;
      if (c.finish_reason) finish = c.finish_reason;
    }
  }
  return { text, finish };
}

const alone = [];
for (const req of requests) {
  const r = await client.completions.create(req);
  alone.push({ text: r.choices[0].text, finish: r.choices[0].finish_reason });
}

const t0 = Date.now();
const together = await Promise.all([
  ...requests.map((req) => streamText(req)),
  ...requests.map(async (req) => {
    const r = await client.completions.create(req);
    return { text: r.choices[0].text, finish: r.choices[0].finish_reason };
  }),
]);
const ms = Date.now() - t0;
together.forEach((got, k) => {
  const i = k % requests.length;
  assert.equal(got.text, alone[i].text, `request ${i} (${k < requests.length ? 'streamed' : 'plain'}) differs when batched`);
  assert.equal(got.finish, alone[i].finish);
});
console.log(`serve_concurrent: ${together.length} concurrent requests matched their alone output (${ms} ms)`);
