/** The only IPC channels between preload and main; both sides import these names. */
export const IPC = {
  /** invoke(name, args) → CallResult */
  call: 'berth:call',
  /** send(id, name, args): start a stream */
  streamOpen: 'berth:stream-open',
  /** send(id): cancel a stream */
  streamClose: 'berth:stream-close',
  /** main → renderer: (id, StreamMessage) */
  streamMessage: 'berth:stream-message',
} as const;
