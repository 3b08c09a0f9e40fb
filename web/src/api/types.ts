/** Names for the API's types. All of them come from the generated OpenAPI schema. */
import type { components } from "./schema";

type Schemas = components["schemas"];

export type User = Schemas["UserOut"];
export type Soul = Schemas["Soul"];
export type ProfilePatch = Schemas["ProfilePatch"];
export type SessionResponse = Schemas["SessionResponse"];
export type HistoryMessage = Schemas["HistoryMessage"];
export type HistoryPage = Schemas["HistoryPage"];
export type VoiceOption = Schemas["VoiceOption"];
export type VoiceGrant = Schemas["VoiceTokenResponse"];
export type VoiceAvailability = Schemas["VoiceAvailability"];
export type RegisterRequest = Schemas["RegisterRequest"];
export type LoginRequest = Schemas["LoginRequest"];
export type SignInRules = Schemas["SignInRules"];
export type ErrorBody = Schemas["ErrorResponse"];
export type Fact = Schemas["FactOut"];
export type FactPage = Schemas["FactPage"];
export type ForgetResult = Schemas["ForgetResult"];

/** The data of each server-sent event of a chat stream, by event name. */
export type StreamEvents = Schemas["ChatStreamEvents"];
export type ChatEvent = {
  [K in keyof StreamEvents]: { type: K } & StreamEvents[K];
}[keyof StreamEvents];

export type AdminUser = Schemas["AdminUserOut"];
export type HomeStatus = Schemas["HomeStatus"];
export type HomeEntity = Schemas["HomeEntityOut"];
export type HomeEntityChoice = Schemas["HomeEntityChoice"];
export type HomePermissions = Schemas["HomePermissionsOut"];
export type HomePermissionsBody = Schemas["HomePermissionsBody"];

export type HomeConnection = Schemas["HomeConnectionOut"];
export type HomeConnectionBody = Schemas["HomeConnectionBody"];
export type HomeConnectionTestBody = Schemas["HomeConnectionTestBody"];
export type HomeConnectionTest = Schemas["HomeConnectionTestOut"];

export type Reminder = Schemas["ReminderOut"];
export type ReminderList = Schemas["ReminderList"];
export type ReminderCreate = Schemas["ReminderCreate"];
export type PushPublicKey = Schemas["PushPublicKey"];
export type PushSubscriptionBody = Schemas["PushSubscriptionIn"];

export type HomePlace = Schemas["HomePlace"];

export type McpServer = Schemas["McpServerOut"];
export type McpServerList = Schemas["McpServerList"];
export type McpServerBody = Schemas["McpServerIn"];

export type WhatsAppStatus = Schemas["WhatsAppStatus"];
export type WhatsAppPending = Schemas["WhatsAppPending"];
export type WhatsAppNumberBody = Schemas["WhatsAppNumberIn"];
export type WhatsAppCodeBody = Schemas["WhatsAppCodeIn"];
export type WhatsAppPreferences = Schemas["WhatsAppPreferences"];
export type WhatsAppAdminStatus = Schemas["WhatsAppAdminStatus"];
export type WhatsAppProblem = Schemas["WhatsAppProblemOut"];
