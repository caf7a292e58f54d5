/** openid-client lowercases token_type; callers put it in an Authorization header, where the scheme is written so. */
export function tokenTypeName(tokenType: string): string {
  const lower = tokenType.toLowerCase()
  return lower === 'bearer' ? 'Bearer' : lower === 'dpop' ? 'DPoP' : tokenType
}
