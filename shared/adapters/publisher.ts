/** Publishes a message to a topic; the message id identifies it for deduplication downstream. */
export interface Publisher {
  publish(topic: string, data: object, attributes?: Record<string, string>): Promise<string>;
}
