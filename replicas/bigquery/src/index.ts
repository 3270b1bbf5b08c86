export type * from './bigquery-shapes.ts';
export {
  type BigQueryReplica,
  type BigQueryReplicaFaults,
  type BigQueryReplicaOptions,
  type ReplicaRequest,
  SUPPORTED_METHODS,
  startBigQueryReplica,
} from './start-bigquery-replica.ts';
export { SqlTranslationError, splitStatements, translateStatement, translateType } from './translate-sql.ts';
