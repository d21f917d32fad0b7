// The pre-receive hook's HTTP client where curl is missing (the hook prefers curl: Node takes
// longer to start). Same exchange: POST the quarantine path and stdin, print the answer, exit
// non-zero unless hubd said 2xx.
import http from 'node:http'

const hook = process.argv[2]
const chunks = []
for await (const c of process.stdin) chunks.push(c)
const body = Buffer.concat([Buffer.from(`${process.env.GIT_QUARANTINE_PATH ?? ''}\n`), ...chunks])

const req = http.request(`${process.env.HUBD_HOOK_URL}/${hook}`, {
  method: 'POST',
  headers: {
    'X-Hubd-Hook-Token': process.env.HUBD_HOOK_TOKEN ?? '',
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': body.length,
  },
  timeout: 600_000,
})
req.on('response', async (res) => {
  let text = ''
  for await (const c of res) text += c
  process.stdout.write(text)
  process.exitCode = res.statusCode >= 200 && res.statusCode < 300 ? 0 : 1
})
req.on('timeout', () => req.destroy(new Error('timed out')))
req.on('error', (err) => {
  process.stderr.write(`error: cannot reach hubd to check this push: ${err.message}\n`)
  process.exitCode = 1
})
req.end(body)
