import { dnsQuestionName, dnsQuestionNameTcp } from '../decode/dns.js'
import { httpRequestHost } from '../decode/http.js'
import { tlsClientHelloSni } from '../decode/tls.js'

/** Result slot reused across packets: kind is 'dns' | 'sni' | 'host'. */
export interface PayloadInspector {
  kind: string
  name: string
}

/**
 * Look at the originator's first payload for a name to report: UDP payloads are read as DNS;
 * TCP as DNS (length-prefixed) when `out.kind` is preset to 'dns' (a DNS port), else as a TLS
 * ClientHello (SNI), else as an HTTP request (Host). Returns whether a name was found.
 */
export function inspectPayload(out: PayloadInspector, proto: number, data: Buffer, start: number, end: number): boolean {
  let name: string | null = null
  if (proto === 17) {
    name = dnsQuestionName(data, start, end)
    out.kind = 'dns'
  } else if (out.kind === 'dns') {
    name = dnsQuestionNameTcp(data, start, end)
  } else if (data[start] === 22) {
    name = tlsClientHelloSni(data, start, end)
    out.kind = 'sni'
  } else {
    name = httpRequestHost(data, start, end)
    out.kind = 'host'
  }
  if (name === null) return false
  out.name = name
  return true
}
