/**
 * The BigQuery v2 REST resources the replica serves, as the discovery document names them,
 * limited to the fields it fills in.
 */

export interface TableFieldSchema {
  name: string;
  /** Legacy names in answers (`INTEGER`, `FLOAT`, `BOOLEAN`, `RECORD`); both accepted in requests. */
  type: string;
  mode?: 'NULLABLE' | 'REQUIRED' | 'REPEATED';
  fields?: TableFieldSchema[];
  description?: string;
}

export interface TableSchema {
  fields: TableFieldSchema[];
}

export interface TableCell {
  v: string | null | TableCell[] | { f: TableCell[] };
}

export interface TableRow {
  f: TableCell[];
}

export interface DatasetReference {
  projectId: string;
  datasetId: string;
}

export interface TableReference extends DatasetReference {
  tableId: string;
}

export interface JobReference {
  projectId: string;
  jobId: string;
  location: string;
}

export interface ErrorProto {
  reason: string;
  message: string;
  location?: string;
  debugInfo?: string;
}

export interface BigQueryErrorBody {
  error: {
    code: number;
    message: string;
    errors: (ErrorProto & { domain: string; locationType?: string })[];
    status: string;
  };
}

export type WriteDisposition = 'WRITE_TRUNCATE' | 'WRITE_APPEND' | 'WRITE_EMPTY';
export type CreateDisposition = 'CREATE_IF_NEEDED' | 'CREATE_NEVER';

export interface QueryParameter {
  name?: string;
  parameterType: { type: string; arrayType?: { type: string } };
  parameterValue: { value?: string | null; arrayValues?: { value?: string }[] };
}

export interface JobConfigurationQuery {
  query: string;
  useLegacySql?: boolean;
  destinationTable?: TableReference;
  writeDisposition?: WriteDisposition;
  createDisposition?: CreateDisposition;
  defaultDataset?: Partial<DatasetReference>;
  queryParameters?: QueryParameter[];
  parameterMode?: 'NAMED' | 'POSITIONAL';
}

export interface JobConfigurationLoad {
  destinationTable: TableReference;
  sourceFormat?: string;
  schema?: TableSchema;
  autodetect?: boolean;
  writeDisposition?: WriteDisposition;
  createDisposition?: CreateDisposition;
  ignoreUnknownValues?: boolean;
  skipLeadingRows?: number;
}

export interface JobConfiguration {
  jobType?: string;
  query?: JobConfigurationQuery;
  load?: JobConfigurationLoad;
  dryRun?: boolean;
  labels?: Record<string, string>;
  jobTimeoutMs?: string;
}

export interface JobStatistics {
  creationTime: string;
  startTime?: string;
  endTime?: string;
  totalBytesProcessed?: string;
  numChildJobs?: string;
  parentJobId?: string;
  query?: {
    statementType?: string;
    numDmlAffectedRows?: string;
    totalBytesProcessed?: string;
    ddlOperationPerformed?: string;
    ddlTargetTable?: TableReference;
    dmlStats?: { insertedRowCount?: string; deletedRowCount?: string; updatedRowCount?: string };
    schema?: TableSchema;
  };
  load?: { outputRows: string; inputFiles: string; inputFileBytes: string; badRecords: string };
  scriptStatistics?: {
    evaluationKind: 'STATEMENT' | 'EXPRESSION';
    stackFrames: {
      startLine: number;
      startColumn: number;
      endLine: number;
      endColumn: number;
      text: string;
    }[];
  };
}

export interface JobResource {
  kind: 'bigquery#job';
  id: string;
  selfLink: string;
  user_email: string;
  jobReference: JobReference;
  configuration: JobConfiguration;
  status: { state: 'PENDING' | 'RUNNING' | 'DONE'; errorResult?: ErrorProto; errors?: ErrorProto[] };
  statistics: JobStatistics;
}
