// ocd plugin for OpenCode: reports every session (and each sub-agent and background agent as
// its child) to an ocd server, and carries out what people send from ocd (stop, message,
// permission answers). Copy this file into ~/.config/opencode/plugins/ (or a project's
// .opencode/plugins/), or run `ocd install opencode`.
//
// Settings: OCD_URL (or DASHBOARD_URL) and OCD_API_KEY (or DASHBOARD_API_KEY); else the
// repository's .ocd/client.json {"url", "key", "project"} (written by `ocd install --project`);
// else ~/.config/ocd/client.json {"url", "key"}. OCD_PROJECT names the project (default: the
// file's, else the session's directory name, decided by the server). Installed both for the
// user and in a repository, only the first copy opencode loads runs.
//
// Rules this file keeps: it never blocks, slows or crashes opencode. The event hook only
// queues (it never awaits the network); a bounded queue keeps the newest events while ocd is
// unreachable and is sent in batches with backoff; every failure is swallowed. The mapping of
// events lives on the server (Rust, tested), so this file only filters noise and forwards.

import { readFileSync } from "node:fs"
import { homedir } from "node:os"
import { dirname, join } from "node:path"

type Settings = { url: string; key: string; project?: string }
type Command = { id: string; kind: string; text?: string | null }

/** Events the server maps; everything else (text deltas, catalogue and plugin chatter) is noise. */
const FORWARDED = new Set([
  "session.created",
  "session.updated",
  "session.deleted",
  "session.status",
  "session.idle",
  "session.error",
  "todo.updated",
  "message.updated",
  "message.part.updated",
  "permission.asked",
  "permission.replied",
])
/** Events kept while ocd is unreachable (the oldest go first). */
const QUEUE_LIMIT = 2000
/** Events per request, and bytes per request (ocd refuses bodies over 1 MiB). */
const BATCH = 200
const BATCH_BYTES = 512 * 1024
/** How long events wait to be sent together. */
const FLUSH_MS = 300
const RETRY_FIRST_MS = 1000
const RETRY_LONGEST_MS = 30000
const REQUEST_MS = 10000
/** The longest opencode's exit waits for the last events. */
const DISPOSE_MS = 1000
/** Long-poll wait for commands (seconds; the server allows up to 60). */
const POLL_WAIT_S = 25

/** A client file's settings, or null when it is missing or lacks the URL or the key. */
function readClientFile(path: string): Settings | null {
  try {
    const file = JSON.parse(readFileSync(path, "utf8"))
    if (!file.url || !file.key) return null
    return { url: String(file.url), key: String(file.key), project: file.project ? String(file.project) : undefined }
  } catch {
    return null
  }
}

/** The nearest .ocd/client.json at `dir` or above it. */
function repoSettings(dir: string | undefined): Settings | null {
  for (let d = dir; d; d = dirname(d) === d ? undefined : dirname(d)) {
    const found = readClientFile(join(d, ".ocd", "client.json"))
    if (found) return found
  }
  return null
}

/** The environment's URL and key together, else the repository's client file, else the
 *  user's: a key is never sent to a URL that came from somewhere else. */
function readSettings(dir: string | undefined): Settings | null {
  const env = process.env
  const url = env.OCD_URL || env.DASHBOARD_URL
  const key = env.OCD_API_KEY || env.DASHBOARD_API_KEY
  const found = url && key ? { url, key } as Settings
    : repoSettings(dir) || readClientFile(join(env.XDG_CONFIG_HOME || join(homedir(), ".config"), "ocd", "client.json"))
  if (!found) return null
  return { url: found.url.replace(/\/+$/, ""), key: found.key, project: env.OCD_PROJECT || found.project }
}

/** The directories a copy of this plugin already reports for (opencode may serve several), so
 *  a second copy (one for the user, one in the repository) stays quiet. */
const LOADED = Symbol.for("ocd.opencode-plugin.directories")

/** Keeps only what ocd reads of an event: tool output, file contents and diffs never leave. */
function slim(event: any): any {
  const p = event.properties || {}
  if (event.type === "message.part.updated") {
    const part = p.part || {}
    const state = part.state || {}
    const input = state.input || {}
    const kept: any = {}
    for (const k of ["description", "command", "filePath", "pattern", "subagent_type"]) {
      if (typeof input[k] === "string") kept[k] = input[k].slice(0, 300)
    }
    return {
      id: event.id,
      type: event.type,
      properties: {
        sessionID: p.sessionID,
        part: {
          id: part.id,
          sessionID: part.sessionID,
          type: part.type,
          tool: part.tool,
          state: { status: state.status, title: typeof state.title === "string" ? state.title.slice(0, 300) : undefined,
            error: typeof state.error === "string" ? state.error.slice(0, 500) : undefined, input: kept },
        },
      },
    }
  }
  if (event.type === "session.created" || event.type === "session.updated" || event.type === "session.deleted") {
    const info = p.info || {}
    return { id: event.id, type: event.type, properties: { sessionID: p.sessionID,
      info: { id: info.id, parentID: info.parentID, title: info.title, directory: info.directory } } }
  }
  if (event.type === "message.updated") {
    const info = p.info || {}
    return { id: event.id, type: event.type, properties: { sessionID: p.sessionID,
      info: { id: info.id, sessionID: info.sessionID, role: info.role, cost: info.cost, tokens: info.tokens, time: info.time } } }
  }
  if (event.type === "session.error") {
    const error = p.error || {}
    return { id: event.id, type: event.type, properties: { sessionID: p.sessionID,
      error: { name: error.name, data: { message: typeof error.data?.message === "string" ? error.data.message.slice(0, 1000) : undefined } } } }
  }
  return event
}

/** Whether ocd wants `event`: a finished model call, a finished tool call, and the rest of FORWARDED. */
function wanted(event: any): boolean {
  if (!event || !FORWARDED.has(event.type)) return false
  const p = event.properties || {}
  if (event.type === "message.part.updated") {
    const status = p.part?.state?.status
    return p.part?.type === "tool" && (status === "completed" || status === "error")
  }
  if (event.type === "message.updated") return p.info?.role === "assistant" && !!p.info?.time?.completed
  return true
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

export const Ocd = async ({ client, directory, worktree, serverUrl }: any) => {
  const here = String(directory || worktree || "")
  const loaded: Set<string> = ((globalThis as any)[LOADED] ||= new Set<string>())
  if (loaded.has(here)) return {}
  const settings = readSettings(here || undefined)
  if (!settings) return {}
  loaded.add(here)
  const headers = { authorization: `Bearer ${settings.key}`, "content-type": "application/json" }
  const queue: any[] = []
  /** How many of the oldest queued events a request is carrying (never trimmed away). */
  let inFlight = 0
  let sending = false
  let retryMs = 0
  let timer: ReturnType<typeof setTimeout> | null = null
  let closed = false
  const polled = new Set<string>()
  const children = new Set<string>()

  const request = (path: string, init: any, ms = REQUEST_MS) =>
    fetch(settings.url + path, { ...init, headers, signal: AbortSignal.timeout(ms) })

  function schedule(ms: number) {
    if (timer || closed) return
    timer = setTimeout(() => {
      timer = null
      void flush()
    }, ms)
  }

  /** The oldest events that fit one request (at least one). */
  function nextBatch(): { events: any[]; body: string } {
    let count = Math.min(BATCH, queue.length)
    for (;;) {
      const events = queue.slice(0, count)
      const body = JSON.stringify({ project: settings!.project, events })
      if (body.length <= BATCH_BYTES || count === 1) return { events, body }
      count = Math.max(1, Math.floor(count / 2))
    }
  }

  /** Sends the oldest batch; on failure keeps it and tries again later, waiting longer each time. */
  async function flush(): Promise<void> {
    if (sending || queue.length === 0) return
    sending = true
    const { events, body } = nextBatch()
    inFlight = events.length
    try {
      const res = await request("/api/ingest/opencode", { method: "POST", body })
      // A refused batch (4xx other than 429: it would be refused again) is dropped.
      if (res.status === 429 || res.status >= 500) throw new Error(`ocd answered ${res.status}`)
      queue.splice(0, events.length)
      retryMs = 0
    } catch {
      retryMs = retryMs ? Math.min(RETRY_LONGEST_MS, retryMs * 2) : RETRY_FIRST_MS
    } finally {
      inFlight = 0
      sending = false
      if (queue.length > 0) schedule(retryMs || FLUSH_MS)
    }
  }

  /** Replies to a permission request with the person's message; false when that did not work. */
  async function replyWithMessage(answer: any): Promise<boolean> {
    try {
      const url = new URL(`/permission/${encodeURIComponent(answer.requestID)}/reply`, String(serverUrl))
      const res = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ reply: answer.reply, message: String(answer.message).slice(0, 1000) }),
        signal: AbortSignal.timeout(REQUEST_MS),
      })
      return res.ok
    } catch {
      return false
    }
  }

  /** Carries out one command through opencode's own client, then tells ocd how it went. */
  async function execute(session: string, agent: string, command: Command) {
    let status = "acknowledged"
    let detail: string | undefined
    try {
      let result: any
      if (command.kind === "stop") {
        result = await client.session.abort({ path: { id: session } })
      } else if (command.kind === "message") {
        result = await client.session.promptAsync({
          path: { id: session },
          body: { parts: [{ type: "text", text: command.text || "" }] },
        })
      } else if (command.kind === "permission") {
        const answer = JSON.parse(command.text || "{}")
        // With a person's message, opencode's own route carries it to the model; the SDK call
        // (also the fallback, e.g. a password-protected server) carries the reply alone.
        const withMessage = answer.message && serverUrl ? await replyWithMessage(answer) : false
        if (!withMessage) {
          result = await client.postSessionIdPermissionsPermissionId({
            path: { id: session, permissionID: answer.requestID },
            body: { response: answer.reply },
          })
        }
      } else {
        status = "failed"
        detail = `the OpenCode plugin cannot ${command.kind} a session`
      }
      if (result?.error) throw new Error(JSON.stringify(result.error).slice(0, 300))
    } catch (e: any) {
      status = "failed"
      detail = String(e?.message || e).slice(0, 500)
    }
    try {
      await request(`/api/agents/${agent}/commands/${encodeURIComponent(command.id)}/ack`, {
        method: "POST",
        body: JSON.stringify(detail ? { status, detail } : { status }),
      })
    } catch {
      // ocd redelivers an unacknowledged command; acting on it again is harmless for these kinds
    }
  }

  /** Long-polls the session's commands until the session is deleted (a sub-agent: until it is
   *  idle) or opencode closes. */
  async function poll(session: string) {
    if (polled.has(session)) return
    polled.add(session)
    const agent = encodeURIComponent(`opencode-${session}`)
    let waitMs = RETRY_FIRST_MS
    while (!closed && polled.has(session)) {
      try {
        const res = await request(`/api/agents/${agent}/commands?wait=${POLL_WAIT_S}`, { method: "GET" }, (POLL_WAIT_S + 10) * 1000)
        if (!res.ok) throw new Error(`ocd answered ${res.status}`)
        const body: any = await res.json()
        waitMs = RETRY_FIRST_MS
        for (const command of body.commands || []) await execute(session, agent, command)
      } catch {
        await sleep(waitMs)
        waitMs = Math.min(RETRY_LONGEST_MS, waitMs * 2)
      }
    }
  }

  return {
    // Returns at once: the event is queued, never sent from here.
    event: async ({ event }: any) => {
      try {
        if (!wanted(event)) return
        queue.push(slim(event))
        // Over the limit the oldest go — but never those a request is carrying.
        if (queue.length > QUEUE_LIMIT) queue.splice(inFlight, queue.length - QUEUE_LIMIT)
        const p = event.properties || {}
        const session = p.info?.id || p.sessionID
        if (p.info?.parentID && session) children.add(session)
        if (event.type === "session.deleted" || (event.type === "session.idle" && children.has(session))) {
          polled.delete(session)
        } else if (session && event.type !== "session.idle") {
          // Any sign of a session (also one resumed from an earlier run) starts its poll.
          void poll(session)
        }
        schedule(queue.length >= BATCH ? 0 : FLUSH_MS)
      } catch {
        // never into opencode
      }
    },
    // opencode is closing: one last send of what is queued, never longer than DISPOSE_MS.
    dispose: async () => {
      closed = true
      // A new instance for this directory (opencode reloading it) reports again.
      loaded.delete(here)
      if (timer) clearTimeout(timer)
      const drain = async () => {
        while (queue.length > 0 && retryMs === 0) {
          await flush()
          if (sending) await sleep(50)
        }
      }
      try {
        await Promise.race([drain(), sleep(DISPOSE_MS)])
      } catch {
        // nothing more to do
      }
    },
  }
}
