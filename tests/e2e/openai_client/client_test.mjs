// The official openai npm package against dschat serve: models, chat and completions, streaming
// and not, and the errors it maps to its exception classes.
//   node client_test.mjs BASE_URL API_KEY      (BASE_URL like http://127.0.0.1:PORT/v1)
import assert from "node:assert/strict";
import OpenAI from "openai";

const [baseURL, apiKey] = process.argv.slice(2);
const client = new OpenAI({ baseURL, apiKey, maxRetries: 0, timeout: 60_000 });

const models = await client.models.list();
assert.equal(models.data.length, 1);
const model = models.data[0].id;

const messages = [{ role: "user", content: "Once upon a time" }];
const whole = await client.chat.completions.create({ model, messages, temperature: 0, max_tokens: 8 });
assert.equal(whole.object, "chat.completion");
const content = whole.choices[0].message.content;
assert.equal(typeof content, "string");
assert.ok(content.length > 0, "an empty reply");
assert.ok(["stop", "length"].includes(whole.choices[0].finish_reason));
assert.equal(whole.usage.total_tokens, whole.usage.prompt_tokens + whole.usage.completion_tokens);

const stream = await client.chat.completions.create({
  model, messages, temperature: 0, max_tokens: 8, stream: true, stream_options: { include_usage: true },
});
let streamed = "";
let finish = null;
let usage = null;
for await (const chunk of stream) {
  if (chunk.usage) usage = chunk.usage;
  for (const choice of chunk.choices) {
    streamed += choice.delta.content ?? "";
    if (choice.finish_reason) finish = choice.finish_reason;
  }
}
assert.equal(streamed.trimEnd(), content, "streamed and non-streamed greedy replies differ");
assert.ok(finish, "no finish_reason");
assert.deepEqual(usage, whole.usage);

const text = await client.completions.create({ model, prompt: "The cat", temperature: 0, max_tokens: 4 });
assert.equal(text.object, "text_completion");
assert.equal(text.usage.completion_tokens, 4);
let streamedText = "";
for await (const chunk of await client.completions.create({
  model, prompt: "The cat", temperature: 0, max_tokens: 4, stream: true,
})) {
  streamedText += chunk.choices[0]?.text ?? "";
}
assert.equal(streamedText, text.choices[0].text);

await assert.rejects(
  new OpenAI({ baseURL, apiKey: "wrong", maxRetries: 0 }).chat.completions.create({ model, messages }),
  (e) => e instanceof OpenAI.AuthenticationError && e.status === 401,
);
await assert.rejects(
  client.chat.completions.create({ model, messages: [{ role: "user", content: "x" }], temperature: 7 }),
  (e) => e instanceof OpenAI.BadRequestError && e.status === 400 && e.param === "temperature",
);
console.log(`openai client: ok (model ${model}, reply ${JSON.stringify(content)})`);
