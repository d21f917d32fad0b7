import t from 'tap'
import { decodeCursor, encodeCursor } from '../../server/protocol/cursor.js'

t.test('round trip', async (t) => {
  for (const key of ['', 'a', 'README.md', 'dir/sub dir/ünïcödé 日本.bin', 'x'.repeat(2000), 'v1:nested', '\u0000?&=#/+']) {
    const c = encodeCursor(key)
    t.match(c, /^[A-Za-z0-9_-]*$/, 'URL-safe without escaping')
    t.equal(decodeCursor(c), key, JSON.stringify(key.slice(0, 30)))
  }
})

t.test('cursors not made by encodeCursor → null', async (t) => {
  const good = encodeCursor('dir/file.txt')
  t.equal(decodeCursor(''), null, 'empty')
  t.equal(decodeCursor(good + '!'), null, 'characters outside base64url')
  t.equal(decodeCursor(good.replace(/./, '+')), null, 'standard base64 alphabet')
  t.equal(decodeCursor(`${good}=`), null, 'padding')
  t.equal(decodeCursor(Buffer.from('dir/file.txt').toString('base64url')), null, 'no version tag')
  t.equal(decodeCursor(Buffer.from('v2:dir/file.txt').toString('base64url')), null, 'other version tag')
  t.equal(decodeCursor(good.slice(0, 2)), null, 'truncated into the tag')
  t.equal(decodeCursor('x'.repeat(4001)), null, 'too long')
  t.equal(decodeCursor(Buffer.concat([Buffer.from('v1:'), Buffer.from([0xff, 0xfe])]).toString('base64url')), null, 'not UTF-8')
})

t.test('tampering is detected when it breaks the encoding', async (t) => {
  // 'v1:ab' is 5 bytes: the last base64url character carries 2 unused bits.
  const c = encodeCursor('ab')
  const last = c[c.length - 1]!
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
  const sibling = alphabet[alphabet.indexOf(last) ^ 1]!
  t.equal(decodeCursor(c.slice(0, -1) + sibling), null, 'non-canonical trailing bits')
  t.equal(decodeCursor(c.slice(0, -1)), null, 'one character cut')
  // Flipping the tag itself.
  const flipped = (c[0] === 'd' ? 'e' : 'd') + c.slice(1)
  t.equal(decodeCursor(flipped), null, 'tag flipped')
})
