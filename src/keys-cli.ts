// `npm run keys`: fresh production secrets as lines of a .env file (`npm run --silent keys >> .env`).
import { freshSecrets } from './config.js'

process.stdout.write(
  Object.entries(freshSecrets())
    .map(([name, value]) => `${name}=${value}\n`)
    .join(''),
)
