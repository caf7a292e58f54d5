import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { notFound } from '../../../errors.js'
import { Type } from '../../../schemas/common.js'
import { TemplateList, TemplateView } from '../../../schemas/template.js'
import { adminErrors, adminSecurity, notFoundResponse } from '../../schemas.js'

const nameParams = Type.Object({ name: Type.String({ maxLength: 64, description: 'Template name' }) })

const templateRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { templates } = app.deps
  app.addHook('onRequest', app.requireAdmin)

  app.get(
    '/templates',
    {
      schema: {
        tags: ['admin'],
        summary: 'The provider templates a provider can be created from',
        security: adminSecurity,
        response: { 200: TemplateList, ...adminErrors },
      },
    },
    async () => ({
      items: templates.list().map((template) => ({
        name: template.name,
        displayName: template.displayName,
        docsUrl: template.docsUrl,
        authMode: template.authMode,
        connectionConfig: (template.connectionConfig ?? []).map((field) => field.name),
      })),
    }),
  )

  app.get(
    '/templates/:name',
    {
      schema: {
        tags: ['admin'],
        summary: 'One template, with everything it sets',
        security: adminSecurity,
        params: nameParams,
        response: { 200: TemplateView, 404: notFoundResponse('template'), ...adminErrors },
      },
    },
    async (request) => {
      const template = templates.get(request.params.name)
      if (!template) throw notFound('template')
      return template
    },
  )
}

export default templateRoutes
