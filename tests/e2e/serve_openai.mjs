// The official `openai` npm client against a running `lyra serve` (tests/e2e/serve_test.cpp
// starts the server and runs this). Env: LYRA_BASE (http://127.0.0.1:PORT), LYRA_MODEL (the
// shipped model's name), LYRA_MODEL2 (a second, random-init model), LYRA_MODEL3 (a random-init
// model over bytes, whose vocabulary can write any JSON), LYRA_KEY (API key or ""),
// LYRA_NODE_MODULES (where openai is installed; default <repo>/node_modules, npm_packages.mjs).
// Exits non-zero with the failed assertion on stderr.
import assert from 'node:assert/strict';
import {requirePackage} from './npm_packages.mjs';

const OpenAI = requirePackage('openai');

const base = process.env.LYRA_BASE;
const model = process.env.LYRA_MODEL;
const model2 = process.env.LYRA_MODEL2;
const model3 = process.env.LYRA_MODEL3;
const client = new OpenAI({ baseURL: `${base}/v1`, apiKey: process.env.LYRA_KEY || 'none', maxRetries: 0 });

async function collect(stream) {
  const texts = {};
  const finish = {};
  for await (const chunk of stream) {
    for (const c of chunk.choices) {
      const piece = c.text ?? c.delta?.content ?? '';
      texts[c.index] = (texts[c.index] ?? '') + piece;
      if (c.finish_reason) finish[c.index] = c.finish_reason;
    }
  }
  return { texts, finish };
}

// models list: both GGUF files by name
const models = await client.models.list();
const ids = models.data.map((m) => m.id);
assert.ok(ids.includes(model), `models list ${ids} lacks ${model}`);
assert.ok(ids.includes(model2), `models list ${ids} lacks ${model2}`);
for (const m of models.data) assert.equal(m.object, 'model');

// completions: prompt, max_tokens, n, temperature, seed
const c1 = await client.completions.create({
  model, prompt: 'ROMEO:\n', max_tokens: 24, n: 3, temperature: 0.9, seed: 5,
});
assert.equal(c1.object, 'text_completion');
assert.equal(c1.model, model);
assert.equal(c1.choices.length, 3);
c1.choices.forEach((c, i) => {
  assert.equal(c.index, i);
  assert.ok(['length', 'stop'].includes(c.finish_reason), c.finish_reason);
  assert.equal(typeof c.text, 'string');
});
assert.equal(c1.usage.prompt_tokens, 8); // BOS + 7 characters
assert.ok(c1.usage.completion_tokens > 0 && c1.usage.completion_tokens <= 72);
assert.equal(c1.usage.total_tokens, c1.usage.prompt_tokens + c1.usage.completion_tokens);
// choices are different draws (seed, seed+1, seed+2)
assert.ok(new Set(c1.choices.map((c) => c.text)).size > 1, 'n choices are all identical');

// same seed, same output; another seed, other output
const c2 = await client.completions.create({
  model, prompt: 'ROMEO:\n', max_tokens: 24, n: 3, temperature: 0.9, seed: 5,
});
assert.deepEqual(c2.choices.map((c) => c.text), c1.choices.map((c) => c.text));
const c3 = await client.completions.create({
  model, prompt: 'ROMEO:\n', max_tokens: 24, temperature: 0.9, seed: 6,
});
assert.notEqual(c3.choices[0].text, c1.choices[0].text);

// prompt cache: a prompt the server prefilled before is copied, not run again; usage reports it
// (OpenAI's prompt_tokens_details.cached_tokens), and the output is the same.
const cacheTest = 'CACHE TEST:\nO';  // no other request here sends it
const miss = await client.completions.create({ model, prompt: cacheTest, max_tokens: 12, temperature: 0.9, seed: 3 });
assert.equal(miss.usage.prompt_tokens_details.cached_tokens, 0);
const hit = await client.completions.create({ model, prompt: cacheTest, max_tokens: 12, temperature: 0.9, seed: 3 });
assert.equal(hit.usage.prompt_tokens_details.cached_tokens, hit.usage.prompt_tokens);
assert.equal(hit.choices[0].text, miss.choices[0].text);
let streamedUsage = null;
let streamedText = '';
for await (const chunk of await client.completions.create({
  model, prompt: cacheTest, max_tokens: 12, temperature: 0.9, seed: 3, stream: true,
  stream_options: { include_usage: true },
})) {
  if (chunk.usage) streamedUsage = chunk.usage;
  for (const c of chunk.choices) streamedText += c.text ?? '';
}
assert.ok(streamedUsage, 'no usage chunk');
assert.equal(streamedUsage.prompt_tokens_details.cached_tokens, streamedUsage.prompt_tokens);
assert.equal(streamedText, miss.choices[0].text);
// A prompt that only begins like a kept one copies the shared part (here all but 'Ah': the char
// model has one token a character) and runs the rest.
const sharing = await client.completions.create({
  model, prompt: 'CACHE TEST:\nAh', max_tokens: 12, temperature: 0.9, seed: 3,
});
assert.equal(sharing.usage.prompt_tokens_details.cached_tokens, sharing.usage.prompt_tokens - 2);

// max_tokens: exactly that many tokens unless the model stopped (char model: 1 token = 1 char)
const greedy = await client.completions.create({ model, prompt: 'ROMEO:\n', max_tokens: 40, temperature: 0 });
assert.equal(greedy.choices[0].finish_reason, 'length');
assert.equal(greedy.usage.completion_tokens, 40);
assert.equal([...greedy.choices[0].text].length, 40);

// stop: cut before the stop string, finish_reason "stop"
const full = greedy.choices[0].text;
const stopAt = full.slice(10, 12);
const stopped = await client.completions.create({
  model, prompt: 'ROMEO:\n', max_tokens: 40, temperature: 0, stop: [stopAt],
});
assert.equal(stopped.choices[0].finish_reason, 'stop');
assert.equal(stopped.choices[0].text, full.slice(0, full.indexOf(stopAt)));

// streamed text == non-streamed text (same seed), for n = 2
const nonStream = await client.completions.create({
  model, prompt: 'JULIET:\n', max_tokens: 30, n: 2, temperature: 0.8, seed: 77,
});
const streamed = await collect(await client.completions.create({
  model, prompt: 'JULIET:\n', max_tokens: 30, n: 2, temperature: 0.8, seed: 77, stream: true,
}));
for (const c of nonStream.choices) {
  assert.equal(streamed.texts[c.index], c.text, `choice ${c.index}: streamed != non-streamed`);
  assert.equal(streamed.finish[c.index], c.finish_reason);
}

// a list of prompts: prompts x n choices, in order
const multi = await client.completions.create({
  model, prompt: ['ROMEO:\n', 'JULIET:\n'], max_tokens: 8, n: 2, temperature: 0,
});
assert.equal(multi.choices.length, 4);
assert.equal(multi.choices[0].text, greedy.choices[0].text.slice(0, multi.choices[0].text.length));
assert.equal(multi.choices[0].text, multi.choices[1].text); // greedy: seeds do not matter

// echo + logprobs: as OpenAI's, the echoed prompt's tokens come first with their own logprobs
// (the first scored after the BOS the server added, which is not echoed), then the generated ones
const lp = await client.completions.create({
  model, prompt: 'ROMEO:\n', max_tokens: 6, temperature: 0, echo: true, logprobs: 1,
});
assert.ok(lp.choices[0].text.startsWith('ROMEO:\n'));
const lps = lp.choices[0].logprobs;
assert.equal(lps.tokens.length, 7 + 6);
assert.equal(lps.token_logprobs.length, 7 + 6);
for (const x of lps.token_logprobs) assert.ok(x <= 0 && x > -50, `logprob ${x}`);
assert.equal(lps.tokens.join(''), lp.choices[0].text);
assert.equal(lps.text_offset[0], 0);
assert.equal(lps.text_offset[7], 'ROMEO:\n'.length);

// scoring a text (max_tokens 0 with echo, the legacy API's way): the prompt alone, nothing
// generated; the prompt plus the first generated token scores that token as generation did
const scoredText = 'ROMEO:\n' + lps.tokens[7];
const scored = await client.completions.create({
  model, prompt: scoredText, max_tokens: 0, echo: true, logprobs: 1,
});
assert.equal(scored.choices[0].text, scoredText);
assert.equal(scored.choices[0].finish_reason, 'length');
assert.equal(scored.usage.completion_tokens, 0);
const sl = scored.choices[0].logprobs;
assert.deepEqual(sl.tokens, lps.tokens.slice(0, 8));
assert.deepEqual(sl.text_offset, lps.text_offset.slice(0, 8));
sl.token_logprobs.forEach((x, k) => {
  assert.ok(Math.abs(x - lps.token_logprobs[k]) < 1e-4, `token ${k}: scored ${x}, generated ${lps.token_logprobs[k]}`);
});

// best_of: of best_of candidates (seeds seed, seed + 1, ...) the n with the highest mean
// log-probability per token, best first; usage counts every candidate generated
const mean = (c) => c.logprobs.token_logprobs.reduce((a, b) => a + b, 0) / c.logprobs.token_logprobs.length;
const four = await client.completions.create({
  model, prompt: 'ROMEO:\n', max_tokens: 10, n: 4, temperature: 1, seed: 21, logprobs: 0,
});
const ranked = four.choices.slice().sort((a, b) => mean(b) - mean(a) || a.index - b.index);
const best = await client.completions.create({
  model, prompt: 'ROMEO:\n', max_tokens: 10, n: 2, best_of: 4, temperature: 1, seed: 21,
});
assert.deepEqual(best.choices.map((c) => c.text), ranked.slice(0, 2).map((c) => c.text));
assert.deepEqual(best.choices.map((c) => c.index), [0, 1]);
assert.equal(best.usage.completion_tokens, four.usage.completion_tokens);

// logprobs with alternatives: greedy picks the most likely token, so it heads its own list with
// the same log-probability; the streamed chunks' logprobs join to the non-streamed ones.
const top = await client.completions.create({
  model, prompt: 'ROMEO:\n', max_tokens: 8, temperature: 0, logprobs: 3, stop: ['\n\n'],
});
const tl = top.choices[0].logprobs;
assert.equal(tl.top_logprobs.length, tl.tokens.length);
tl.top_logprobs.forEach((alts, k) => {
  const entries = Object.entries(alts);
  assert.ok(entries.length >= 1 && entries.length <= 3, `alternatives ${JSON.stringify(alts)}`);
  const best = Math.max(...entries.map(([, v]) => v));
  assert.equal(alts[tl.tokens[k]], tl.token_logprobs[k], `token ${k} is not among its alternatives`);
  assert.equal(tl.token_logprobs[k], best, `greedy token ${k} is not the most likely`);
});
const topStream = await client.completions.create({
  model, prompt: 'ROMEO:\n', max_tokens: 8, temperature: 0, logprobs: 3, stop: ['\n\n'], stream: true,
});
const joined = { tokens: [], token_logprobs: [], top_logprobs: [], text_offset: [] };
for await (const chunk of topStream) {
  for (const c of chunk.choices) {
    if (!c.logprobs) continue;
    for (const key of Object.keys(joined)) joined[key].push(...c.logprobs[key]);
  }
}
assert.deepEqual(joined, tl, 'streamed logprobs != non-streamed');

// chat: logprobs true with top_logprobs
const chatTop = await client.chat.completions.create({
  model, messages: [{ role: 'user', content: 'Hello' }], max_tokens: 6, temperature: 0,
  logprobs: true, top_logprobs: 2,
});
const content = chatTop.choices[0].logprobs.content;
assert.equal(content.map((t) => t.token).join(''), chatTop.choices[0].message.content);
for (const t of content) {
  assert.equal(t.top_logprobs.length, 2);
  assert.equal(t.top_logprobs[0].token, t.token);
  assert.equal(t.top_logprobs[0].logprob, t.logprob);
  assert.ok(t.top_logprobs[1].logprob <= t.logprob);
  assert.deepEqual(t.bytes, [...Buffer.from(t.token, 'utf8')]);
}

// chat, plain and streamed, on both models
for (const m of [model, model2]) {
  const chat = await client.chat.completions.create({
    model: m,
    messages: [{ role: 'system', content: 'You are a poet.' }, { role: 'user', content: 'Hello' }],
    max_tokens: 20, temperature: 0.7, seed: 3,
  });
  assert.equal(chat.object, 'chat.completion');
  assert.equal(chat.model, m);
  assert.equal(chat.choices[0].message.role, 'assistant');
  assert.equal(typeof chat.choices[0].message.content, 'string');
  const cs = await collect(await client.chat.completions.create({
    model: m,
    messages: [{ role: 'system', content: 'You are a poet.' }, { role: 'user', content: 'Hello' }],
    max_tokens: 20, temperature: 0.7, seed: 3, stream: true,
  }));
  assert.equal(cs.finish[0], chat.choices[0].finish_reason);
  // The random-init model writes arbitrary bytes (invalid UTF-8 reaches JSON as U+FFFD, piece
  // by piece when streamed), so exact equality is checked on the trained model's text only.
  if (m === model) assert.equal(cs.texts[0], chat.choices[0].message.content, 'chat streamed != non-streamed');
}

// errors come back as the client's typed errors
await assert.rejects(
  client.completions.create({ model: 'no-such-model', prompt: 'x', max_tokens: 2 }),
  (e) => e.status === 404 && e.code === 'model_not_found' && e.param === 'model',
);
await assert.rejects(
  client.completions.create({ model, prompt: 'x', max_tokens: 2, temperature: 5 }),
  (e) => e.status === 400 && e.param === 'temperature',
);

// structured outputs: response_format json_schema, kept by the grammar even for random weights
const schema = {
  type: 'object',
  properties: { city: { type: 'string', maxLength: 12 }, days: { type: 'integer' } },
  required: ['city', 'days'],
};
const structured = await client.chat.completions.create({
  model: model3, messages: [{ role: 'user', content: 'Plan a trip.' }], max_tokens: 120, n: 2, seed: 1,
  response_format: { type: 'json_schema', json_schema: { name: 'trip', schema, strict: true } },
});
for (const c of structured.choices) {
  const j = JSON.parse(c.message.content);
  assert.equal(typeof j.city, 'string');
  assert.ok(Number.isInteger(j.days), c.message.content);
  assert.deepEqual(Object.keys(j).sort(), ['city', 'days']);
}

// tools: tool_choice "required" (or a named function) makes the answer a call of one of them,
// its arguments following that function's parameters; streamed, the call arrives as a delta
const tools = [
  { type: 'function', function: { name: 'get_weather', description: 'The weather in a city', parameters: schema } },
  { type: 'function', function: { name: 'get_time', parameters: { type: 'object', properties: { tz: { type: 'string', maxLength: 5 } } } } },
];
const called = await client.chat.completions.create({
  model: model3, messages: [{ role: 'user', content: 'Weather in Oslo?' }], max_tokens: 150, seed: 2,
  tools, tool_choice: 'required',
});
const msg = called.choices[0].message;
assert.equal(called.choices[0].finish_reason, 'tool_calls');
assert.equal(msg.content, null);
assert.equal(msg.tool_calls.length, 1);
assert.equal(msg.tool_calls[0].type, 'function');
assert.ok(['get_weather', 'get_time'].includes(msg.tool_calls[0].function.name));
const args = JSON.parse(msg.tool_calls[0].function.arguments);
if (msg.tool_calls[0].function.name === 'get_weather') assert.ok(Number.isInteger(args.days));
let streamedCall = null;
let streamedFinish = null;
for await (const chunk of await client.chat.completions.create({
  model: model3, messages: [{ role: 'user', content: 'Time?' }], max_tokens: 80, seed: 3, stream: true,
  tools, tool_choice: { type: 'function', function: { name: 'get_time' } },
})) {
  for (const c of chunk.choices) {
    if (c.delta?.tool_calls) streamedCall = c.delta.tool_calls[0];
    if (c.finish_reason) streamedFinish = c.finish_reason;
  }
}
assert.equal(streamedFinish, 'tool_calls');
assert.equal(streamedCall.function.name, 'get_time');
assert.equal(typeof JSON.parse(streamedCall.function.arguments), 'object');
// the next turn sends the call and its result back: accepted, answered in text
const after = await client.chat.completions.create({
  model: model3, max_tokens: 8, seed: 4, tools,
  messages: [
    { role: 'user', content: 'Weather in Oslo?' },
    msg,
    { role: 'tool', tool_call_id: msg.tool_calls[0].id, content: '{"temp": 3}' },
  ],
});
assert.equal(typeof after.choices[0].message.content, 'string');
assert.equal(after.choices[0].message.tool_calls, undefined);

// the older functions / function_call, as pre-tools code sends them: answered with function_call
const legacyCall = await client.chat.completions.create({
  model: model3, messages: [{ role: 'user', content: 'Time?' }], max_tokens: 80, seed: 5,
  functions: [tools[1].function], function_call: { name: 'get_time' },
});
assert.equal(legacyCall.choices[0].finish_reason, 'function_call');
assert.equal(legacyCall.choices[0].message.function_call.name, 'get_time');
assert.equal(typeof JSON.parse(legacyCall.choices[0].message.function_call.arguments), 'object');

// embeddings: the client asks for base64 by default and decodes it; asking for floats gives
// the same numbers
const encoder = process.env.LYRA_ENCODER;
const emb = await client.embeddings.create({ model: encoder, input: ['red apple', 'green pear'] });
assert.equal(emb.data.length, 2);
const embFloat = await client.embeddings.create({ model: encoder, input: ['red apple', 'green pear'], encoding_format: 'float' });
emb.data.forEach((d, i) => {
  assert.equal(d.index, i);
  assert.deepEqual(Array.from(d.embedding), embFloat.data[i].embedding);
  const norm = d.embedding.reduce((a, x) => a + x * x, 0);
  assert.ok(Math.abs(norm - 1) < 1e-4, `norm ${norm}`);
});
assert.ok(emb.usage.prompt_tokens > 0);

// the legacy engine API, as the old SDK sends it: the engine in the path picks the model
const headers = { 'Content-Type': 'application/json' };
if (process.env.LYRA_KEY) headers.Authorization = `Bearer ${process.env.LYRA_KEY}`;
const engines = await (await fetch(`${base}/v1/engines`, { headers })).json();
assert.equal(engines.object, 'list');
assert.ok(engines.data.some((e) => e.id === model && e.object === 'engine'));
const legacy = await fetch(`${base}/v1/engines/${model}/completions`, {
  method: 'POST', headers,
  body: JSON.stringify({ prompt: 'ROMEO:\n', max_tokens: 40, n: 1, stop: null, temperature: 0 }),
});
assert.equal(legacy.status, 200);
const lj = await legacy.json();
assert.equal(lj.model, model);
assert.equal(lj.choices[0].text, full);
const legacy2 = await (await fetch(`${base}/v1/engines/${model2}/completions`, {
  method: 'POST', headers, body: JSON.stringify({ prompt: 'abc', max_tokens: 5, temperature: 0 }),
})).json();
assert.equal(legacy2.model, model2);

console.log('serve_openai: all checks passed');
