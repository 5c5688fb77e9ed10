// One check of one official SDK against gemgate, run by internal/app/clients_e2e_test.go:
//   node check.mjs <check>
// with GEMGATE_URL (gemgate's root), GEMGATE_TOKEN and GEMGATE_MODEL in the environment. It prints what
// it got and exits 0, or prints the client's error and exits 1. Every client keeps its default options
// (retries included) except the base URL and the key.
import OpenAI from "openai";
import Anthropic from "@anthropic-ai/sdk";
import { GoogleGenAI } from "@google/genai";
import { generateText, streamText, tool, stepCountIs } from "ai";
import { createOpenAI } from "@ai-sdk/openai";
import { createAnthropic } from "@ai-sdk/anthropic";
import { createGoogleGenerativeAI } from "@ai-sdk/google";
import { z } from "zod";

const url = process.env.GEMGATE_URL;
const token = process.env.GEMGATE_TOKEN;
const model = process.env.GEMGATE_MODEL || "gemini-2.5-flash";
const claudeModel = "claude-sonnet-4-5";

const weather = {
  name: "get_weather",
  description: "Current weather of a city",
  schema: { type: "object", properties: { location: { type: "string" } }, required: ["location"] },
};

function must(cond, what) {
  if (!cond) throw new Error("unexpected answer: " + what);
}

const openai = () => new OpenAI({ baseURL: url + "/v1", apiKey: token });
const anthropic = () => new Anthropic({ baseURL: url, apiKey: token });
const genai = () => new GoogleGenAI({ apiKey: token, httpOptions: { baseUrl: url } });

const aiProviders = {
  openai: () => createOpenAI({ baseURL: url + "/v1", apiKey: token })(model),
  anthropic: () => createAnthropic({ baseURL: url + "/v1", apiKey: token })(claudeModel),
  google: () => createGoogleGenerativeAI({ baseURL: url + "/v1beta", apiKey: token })(model),
};

const aiTools = {
  get_weather: tool({
    description: weather.description,
    inputSchema: z.object({ location: z.string() }),
    execute: async ({ location }) => ({ location, forecast: "sunny" }),
  }),
};

const checks = {
  async "openai.chat"() {
    const r = await openai().chat.completions.create({ model, messages: [{ role: "user", content: "hello" }] });
    must(r.choices[0].message.content.includes("hello"), JSON.stringify(r));
    return r.choices[0].message.content;
  },
  async "openai.chat.stream"() {
    const s = openai().chat.completions.stream({ model, messages: [{ role: "user", content: "hello stream" }] });
    const r = await s.finalChatCompletion();
    must(r.choices[0].message.content.includes("hello stream"), JSON.stringify(r));
    return r.choices[0].message.content;
  },
  async "openai.chat.tools"() {
    const c = openai();
    const tools = [{ type: "function", function: { name: weather.name, description: weather.description, parameters: weather.schema } }];
    const messages = [{ role: "user", content: "call get_weather" }];
    const first = await c.chat.completions.create({ model, messages, tools });
    const call = first.choices[0].message.tool_calls?.[0];
    must(call?.function.name === "get_weather", JSON.stringify(first));
    messages.push(first.choices[0].message, { role: "tool", tool_call_id: call.id, content: '{"forecast":"sunny"}' });
    const second = await c.chat.completions.create({ model, messages, tools });
    must(second.choices[0].message.content, JSON.stringify(second));
    return `${call.function.name}(${call.function.arguments}) → ${second.choices[0].message.content}`;
  },
  async "openai.responses.stream"() {
    const s = openai().responses.stream({ model, input: "hello responses" });
    const r = await s.finalResponse();
    must(r.output_text.includes("hello responses"), JSON.stringify(r));
    return r.output_text;
  },
  async "openai.responses.tools"() {
    const c = openai();
    const tools = [{ type: "function", name: weather.name, description: weather.description, parameters: weather.schema, strict: false }];
    const input = [{ role: "user", content: "call get_weather" }];
    const first = await c.responses.stream({ model, input, tools }).finalResponse();
    const call = first.output.find((i) => i.type === "function_call");
    must(call?.name === "get_weather", JSON.stringify(first));
    input.push(...first.output, { type: "function_call_output", call_id: call.call_id, output: '{"forecast":"sunny"}' });
    const second = await c.responses.create({ model, input, tools });
    must(second.output_text !== undefined, JSON.stringify(second));
    return `${call.name}(${call.arguments}) → ${second.output_text}`;
  },
  async "anthropic.create"() {
    const r = await anthropic().messages.create({ model: claudeModel, max_tokens: 256, messages: [{ role: "user", content: "hello" }] });
    must(r.content[0].text.includes("hello"), JSON.stringify(r));
    return r.content[0].text;
  },
  async "anthropic.stream"() {
    const r = await anthropic().messages.stream({ model: claudeModel, max_tokens: 256, messages: [{ role: "user", content: "hello stream" }] }).finalMessage();
    must(r.content[0].text.includes("hello stream"), JSON.stringify(r));
    return r.content[0].text;
  },
  async "anthropic.tools"() {
    const c = anthropic();
    const tools = [{ name: weather.name, description: weather.description, input_schema: weather.schema }];
    const messages = [{ role: "user", content: "call get_weather" }];
    const first = await c.messages.create({ model: claudeModel, max_tokens: 256, messages, tools });
    const use = first.content.find((b) => b.type === "tool_use");
    must(use?.name === "get_weather" && first.stop_reason === "tool_use", JSON.stringify(first));
    messages.push({ role: "assistant", content: first.content }, { role: "user", content: [{ type: "tool_result", tool_use_id: use.id, content: "sunny" }] });
    const second = await c.messages.create({ model: claudeModel, max_tokens: 256, messages, tools });
    must(second.stop_reason === "end_turn", JSON.stringify(second));
    return `${use.name}(${JSON.stringify(use.input)}) → ${second.stop_reason}`;
  },
  async "anthropic.count_tokens"() {
    const r = await anthropic().messages.countTokens({ model: claudeModel, messages: [{ role: "user", content: "count these tokens" }] });
    must(r.input_tokens > 0, JSON.stringify(r));
    return `${r.input_tokens} input tokens`;
  },
  async "genai.generate"() {
    const r = await genai().models.generateContent({ model, contents: "hello" });
    must(r.text.includes("hello"), JSON.stringify(r));
    return r.text;
  },
  async "genai.stream"() {
    let text = "";
    for await (const chunk of await genai().models.generateContentStream({ model, contents: "hello stream" })) text += chunk.text ?? "";
    must(text.includes("hello stream"), text);
    return text;
  },
  async "genai.files"() {
    const c = genai();
    const file = await c.files.upload({ file: new Blob(["some notes"], { type: "text/plain" }), config: { mimeType: "text/plain", displayName: "notes" } });
    must(file.name?.startsWith("files/"), JSON.stringify(file));
    const got = await c.files.get({ name: file.name });
    const r = await c.models.generateContent({ model, contents: [{ role: "user", parts: [{ fileData: { fileUri: got.uri, mimeType: "text/plain" } }, { text: "summarise" }] }] });
    must(r.text, JSON.stringify(r));
    await c.files.delete({ name: file.name });
    return `${file.name} (${got.state}) → ${r.text}`;
  },
};

for (const [name, provider] of Object.entries(aiProviders)) {
  checks[`ai.${name}.text`] = async () => {
    const r = await generateText({ model: provider(), prompt: "hello" });
    must(r.text.includes("hello"), r.text);
    return r.text;
  };
  checks[`ai.${name}.stream`] = async () => {
    let failure;
    const r = streamText({ model: provider(), prompt: "hello stream", onError: ({ error }) => { failure = error; } });
    let text = "";
    for await (const delta of r.textStream) text += delta;
    if (failure) throw failure;
    must(text.includes("hello stream"), text);
    return text;
  };
  checks[`ai.${name}.tools`] = async () => {
    const r = await generateText({ model: provider(), prompt: "call get_weather", tools: aiTools, stopWhen: stepCountIs(3) });
    must(r.steps.length >= 2 && r.steps[0].toolCalls[0]?.toolName === "get_weather", JSON.stringify(r.steps.map((s) => s.finishReason)));
    return `${r.steps.length} steps: ${r.steps.map((s) => s.finishReason).join(", ")}`;
  };
}

const name = process.argv[2];
if (!checks[name]) {
  console.error(`unknown check ${name}; known: ${Object.keys(checks).join(" ")}`);
  process.exit(2);
}
try {
  const out = await checks[name]();
  console.log(String(out).replace(/\s+/g, " ").slice(0, 200));
  process.exit(0);
} catch (err) {
  const status = err?.status ?? err?.statusCode ?? "";
  console.error(`${err?.constructor?.name ?? "Error"} ${status}: ${String(err?.message ?? err).replace(/\s+/g, " ").slice(0, 400)}`);
  process.exit(1);
}
