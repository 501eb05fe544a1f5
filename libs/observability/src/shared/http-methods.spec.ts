import { isKnownMethod, methodLabel, spanMethod } from './http-methods';

const KNOWN = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH', 'QUERY'];

describe('http methods', () => {
  it('knows the methods the HTTP semantic conventions name', () => {
    expect(KNOWN.filter((m) => !isKnownMethod(m))).toEqual([]);
    expect(KNOWN.map(methodLabel)).toEqual(KNOWN);
    expect(KNOWN.map(spanMethod)).toEqual(KNOWN);
  });

  it.each(['PURGE', 'get', 'PROPFIND', '', undefined])('treats %j as another method: _OTHER label, HTTP span name', (method) => {
    expect([isKnownMethod(method), methodLabel(method), spanMethod(method)]).toEqual([false, '_OTHER', 'HTTP']);
  });
});
