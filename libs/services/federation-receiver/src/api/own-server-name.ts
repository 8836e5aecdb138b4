/** This server's name, as an injectable (the `origin` of answers). */
export class OwnServerName {
  constructor(readonly value: string) {}
}
