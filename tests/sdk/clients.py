"""Drives the router with the official OpenAI, Anthropic and Google Gen AI SDKs.

Usage: clients.py BASE_URL. Every call goes to a model served in a *different* format than the
SDK speaks, so each answer has been translated. Prints one JSON line per check; exits non-zero
on the first failure.
"""

import json
import sys

import anthropic
import openai
from google import genai
from google.genai import types

BASE = sys.argv[1]
TOOL_SCHEMA = {"type": "object", "properties": {"d": {"type": "string"}}, "required": ["d"]}


def report(name, **facts):
    print(json.dumps({"check": name, **facts}), flush=True)


def expect(cond, what):
    if not cond:
        raise AssertionError(what)


def openai_chat():
    client = openai.OpenAI(base_url=BASE + "/v1", api_key="sk-test")
    tools = [{"type": "function", "function": {"name": "ls", "description": "list", "parameters": TOOL_SCHEMA}}]
    messages = [{"role": "user", "content": "list the dir"}]
    r = client.chat.completions.create(model="fanth/claude-x", messages=messages, tools=tools)
    call = r.choices[0].message.tool_calls[0]
    expect(call.function.name == "ls", "tool name")
    expect(json.loads(call.function.arguments) == {"d": "."}, "tool args")
    expect(r.usage.prompt_tokens == 120, "usage")
    messages += [r.choices[0].message.model_dump(exclude_none=True),
                 {"role": "tool", "tool_call_id": call.id, "content": "a.txt b.txt"}]
    text, args, usage = "", "", None
    stream = client.chat.completions.create(model="fanth/claude-x", messages=messages, tools=tools,
                                            stream=True, stream_options={"include_usage": True})
    for chunk in stream:
        if chunk.usage:
            usage = chunk.usage
        for c in chunk.choices:
            text += c.delta.content or ""
            for t in c.delta.tool_calls or []:
                args += t.function.arguments or ""
    expect(text == "Hello from the fake.", "streamed text")
    expect(json.loads(args) == {"d": "."}, "streamed args")
    expect(usage is not None and usage.completion_tokens == 40, "streamed usage")
    report("openai-chat", tool_call_id=call.id)


def openai_responses():
    client = openai.OpenAI(base_url=BASE + "/v1", api_key="sk-test")
    tools = [{"type": "function", "name": "ls", "description": "list", "parameters": TOOL_SCHEMA}]
    r = client.responses.create(model="gemini/gemini-2.5-flash", input="list the dir", tools=tools)
    calls = [o for o in r.output if o.type == "function_call"]
    expect(calls and calls[0].name == "ls", "responses tool call")
    expect(r.output_text == "Hello from the fake.", "responses text")
    follow = [{"role": "user", "content": "list the dir"},
              {"type": "function_call", "call_id": calls[0].call_id, "name": "ls", "arguments": calls[0].arguments},
              {"type": "function_call_output", "call_id": calls[0].call_id, "output": "a.txt b.txt"}]
    with client.responses.stream(model="gemini/gemini-2.5-flash", input=follow, tools=tools) as s:
        final = s.get_final_response()
    expect(final.output_text == "Hello from the fake.", "responses streamed text")
    expect(final.usage.input_tokens == 120, "responses usage")
    report("openai-responses", call_id=calls[0].call_id)


def anthropic_messages():
    client = anthropic.Anthropic(base_url=BASE, api_key="sk-test")
    tools = [{"name": "ls", "description": "list", "input_schema": TOOL_SCHEMA}]
    messages = [{"role": "user", "content": "list the dir"}]
    r = client.messages.create(model="fchat/gpt-4o", max_tokens=512, messages=messages, tools=tools)
    use = [b for b in r.content if b.type == "tool_use"][0]
    expect(use.name == "ls" and use.input == {"d": "."}, "anthropic tool_use")
    expect(r.stop_reason == "tool_use", "anthropic stop reason")
    thinking = [b for b in r.content if b.type == "thinking"]
    expect(thinking and thinking[0].thinking == "Let me think.", "anthropic thinking")
    messages += [{"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in r.content if b.type != "thinking"]},
                 {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use.id, "content": "a.txt b.txt"}]}]
    with client.messages.stream(model="fresp/gpt-5", max_tokens=512, messages=messages, tools=tools,
                                thinking={"type": "enabled", "budget_tokens": 2048}) as s:
        final = s.get_final_message()
    texts = [b.text for b in final.content if b.type == "text"]
    expect(texts == ["Hello from the fake."], "anthropic streamed text")
    expect(final.usage.output_tokens == 40, "anthropic usage")
    n = client.messages.count_tokens(model="fchat/gpt-4o", messages=[{"role": "user", "content": "hello world"}])
    expect(n.input_tokens > 0, "count_tokens")
    report("anthropic-messages", tool_use_id=use.id)


def gemini():
    client = genai.Client(api_key="sk-test", http_options=types.HttpOptions(base_url=BASE))
    decl = types.FunctionDeclaration(name="ls", description="list", parameters_json_schema=TOOL_SCHEMA)
    config = types.GenerateContentConfig(tools=[types.Tool(function_declarations=[decl])],
                                         automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True))
    r = client.models.generate_content(model="fchat/gpt-4o", contents="list the dir", config=config)
    calls = r.function_calls or []
    expect(calls and calls[0].name == "ls" and calls[0].args == {"d": "."}, "gemini function call")
    expect(r.usage_metadata.prompt_token_count == 120, "gemini usage")
    history = [types.Content(role="user", parts=[types.Part(text="list the dir")]),
               r.candidates[0].content,
               types.Content(role="user", parts=[types.Part.from_function_response(name="ls", response={"output": "a.txt b.txt"})])]
    text = ""
    for chunk in client.models.generate_content_stream(model="fanth/claude-x", contents=history, config=config):
        text += chunk.text or ""
    expect(text == "Hello from the fake.", "gemini streamed text")
    report("gemini", calls=len(calls))


for check in (openai_chat, openai_responses, anthropic_messages, gemini):
    check()
