import { Effect, Layer, Redacted } from "effect"
import { Catalog } from "../../ticketing/Catalog.js"
import { AccessConfig } from "../../Settings/Access.js"
import { Customers } from "../Customers.js"
import { Forbidden } from "../../Domain.js"
import { storeDefects } from "../../Sql.js"
import { AdminAuth, CustomerAuth, GateAuth } from "./Api.js"

export const CustomerAuthLive = Layer.effect(CustomerAuth, Effect.map(Customers, (customers) => ({
  bearer: (token: Redacted.Redacted<string>) => storeDefects(customers.authenticate(Redacted.value(token)))
})))

export const GateAuthLive = Layer.effect(GateAuth, Effect.map(Catalog, (catalog) => ({
  deviceKey: (key: Redacted.Redacted<string>) => storeDefects(catalog.authenticateGate(Redacted.value(key)))
})))

export const AdminAuthLive = Layer.effect(AdminAuth, Effect.map(AccessConfig, (config) => ({
  adminKey: (key: Redacted.Redacted<string>) =>
    Redacted.value(key) === config.adminKey ? Effect.void : Effect.fail(new Forbidden({ message: "admin key required" }))
})))
