import t from 'tap'
import { matchReturnTo } from '../../src/urls/return-to.js'

const allowed = ['https://app.example.com/settings', 'http://127.0.0.1:8080/']

t.test('returnTo under an allowed prefix', async (t) => {
  for (const url of [
    'https://app.example.com/settings',
    'https://app.example.com/settings/',
    'https://app.example.com/settings/connections?tab=1#top',
    'https://APP.example.com:443/settings/x',
    'https://app.example.com/settings/a/../b',
    'http://127.0.0.1:8080/anything',
  ]) {
    t.ok(matchReturnTo(url, allowed), url)
  }
  t.equal(
    matchReturnTo('https://APP.example.com:443/settings/a/../b', allowed)?.href,
    'https://app.example.com/settings/b',
  )
})

t.test('returnTo tricks', async (t) => {
  for (const url of [
    'https://app.example.com/settingsevil',
    'https://app.example.com/settings/../admin',
    'https://app.example.com/settings/%2e%2e/admin',
    'https://app.example.com/settings/..%2fadmin',
    'https://app.example.com/settings%2f..%2fadmin',
    'https://app.example.com/settings\\..\\admin',
    'https://app.example.com/other',
    'https://app.example.com.evil.example/settings',
    'https://app.example.com@evil.example/settings',
    'https://evil.example@app.example.com/settings',
    'https://user:pass@app.example.com/settings',
    'http://app.example.com/settings',
    'https://app.example.com:8443/settings',
    '//app.example.com/settings',
    '/settings',
    'javascript:alert(1)//https://app.example.com/settings',
    'data:text/html,https://app.example.com/settings',
    'https://app.example.com/settings/\u0000',
    ' https://app.example.com/settings',
    'https://app.example.com/settings/\nx',
    'http://127.0.0.1:8081/',
    'http://localhost:8080/',
    `https://app.example.com/settings/${'a'.repeat(2100)}`,
  ]) {
    t.equal(matchReturnTo(url, allowed), null, JSON.stringify(url))
  }
})
