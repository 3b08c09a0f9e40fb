declare module "swagger-ui-dist/swagger-ui-es-bundle.js" {
  /** Renders Swagger UI into `domNode` (the options are Swagger UI's own). */
  export default function SwaggerUI(options: Record<string, unknown>): unknown;
}
