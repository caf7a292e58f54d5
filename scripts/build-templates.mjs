// The last step of `npm run build`: the built-in templates, parsed and checked once, beside the compiled code.
import { writeBuiltTemplates } from '../dist/providers/templates/catalogue.js'

writeBuiltTemplates()
