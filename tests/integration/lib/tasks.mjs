// The tasks extension (io.modelcontextprotocol/tasks, SEP-2663) as a Modern
// client that declared it speaks it, for the suites that test it: tasks
// (Bastion's own server core) and gateway_tasks (the gateway's tasks).
import assert from 'node:assert/strict';
import { eventually } from './bastion.mjs';
import { modernClient } from './modern.mjs';

export const TASKS = 'io.modelcontextprotocol/tasks';
export const WITH_TASKS = { elicitation: {}, extensions: { [TASKS]: {} } };
export const { modern } = modernClient({ client: 'it-tasks', caps: WITH_TASKS });

export const call = (url, name, args = {}, opts = {}) => modern(url, 'tools/call', { name, arguments: args }, opts);
export const get = (url, taskId, opts = {}) => modern(url, 'tasks/get', { taskId }, opts);
export const cancel = (url, taskId, opts = {}) => modern(url, 'tasks/cancel', { taskId }, opts);
export const update = (url, taskId, inputResponses, opts = {}) =>
  modern(url, 'tasks/update', { taskId, inputResponses }, opts);

// Polls tasks/get until the task is in one of `statuses`.
export async function until(url, taskId, statuses, opts = {}) {
  let last;
  await eventually(async () => {
    last = await get(url, taskId, opts);
    return last.json?.result && statuses.includes(last.json.result.status);
  }, { timeoutMs: 15000, intervalMs: 100 });
  return last.json.result;
}

// The task-creating call of `name`; asserts a CreateTaskResult came back.
export async function created(url, name, args = {}, opts = {}) {
  const r = await call(url, name, args, opts);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.result?.resultType, 'task', r.text);
  assert.equal(typeof r.json.result.taskId, 'string');
  return r.json.result;
}
