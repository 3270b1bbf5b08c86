/**
 * The lineage graph's layout lives with the API (packages/server/src/api/graph-layout.ts): the
 * server lays a graph out once per structure and sends the positions with the compact graph,
 * so the page does no layout work; the page's smaller graphs (an asset's neighbours) use the
 * same code here.
 */
export * from '../../../server/src/api/graph-layout.ts';
