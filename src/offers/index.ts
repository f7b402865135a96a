/** The offers stage: catalogs, the local machine's offer, configured backends, matching and ranking. */
export { offerJson, type Offer, type OfferJson } from "./offer";
export { describeOffer, formatPrice, offerResources, priceColumn, resourcesColumn } from "./format";
export { loadCatalogs, clearCatalogCache, type LoadCatalogOptions } from "./catalog";
export { Catalog } from "./catalog-table";
export { catalogFromOffers } from "./catalog-builder";
export { parseCatalogFiles, CATALOG_COLUMNS } from "./catalog-csv";
export { catalogDir, catalogFiles } from "./catalog-folder";
export { normalizeBackendName } from "./backend-names";
export {
  findOffers,
  matchOffer,
  offerViolations,
  compareOffers,
  noOffersError,
  noOffersHint,
  type FindOffersOptions,
  type OfferQueryResult,
  type NoOffersExplanation,
  type NearestOffer,
} from "./find";
export { localOffer, parseNvidiaSmi, normalizeNvidiaName, type LocalOfferOptions } from "./local";
export { readBackendsConfig, configuredBackends, type BackendsConfig, type ConfiguredBackend } from "./backends-config";
export type { ConstraintName } from "./query";
export { requirementsOf, type OfferRequest, type Requirements } from "./requirements";
