/**
 * The SMS command language (seed 002 [0082], [0092], [0100]): a registered customer who knows the train
 * texts it ("BUY G1 20270128 BJP-SHH 2"), gets the order back to confirm, and confirms by paying
 * ("PAY 123456 246810") or cancels ("CANCEL 123456"); "STATUS" lists recent SMS orders. Pure: text in,
 * a command or the reason it is not one out. Keywords are case-insensitive and have Chinese aliases.
 */

export type SmsCommand =
  | { readonly _tag: "Buy"; readonly trainCode: string; readonly serviceDate: string; readonly fromStation: string; readonly toStation: string; readonly count: number }
  | { readonly _tag: "Pay"; readonly ref: string; readonly paymentPassword: string }
  | { readonly _tag: "Cancel"; readonly ref: string }
  | { readonly _tag: "Status"; readonly ref: string | undefined }

export type ParseResult =
  | { readonly ok: true; readonly command: SmsCommand }
  | { readonly ok: false; readonly problem: string }

/** digits of an SMS order's reference */
export const smsOrderRefDigits = 6

export const usage = "Commands: BUY <train> <yyyymmdd> <FROM>-<TO> [count] | PAY <ref> <payment password> | CANCEL <ref> | STATUS [ref]"

const keywords: Record<string, SmsCommand["_tag"]> = {
  BUY: "Buy", "订票": "Buy", "购票": "Buy",
  PAY: "Pay", "支付": "Pay",
  CANCEL: "Cancel", "取消": "Cancel",
  STATUS: "Status", QUERY: "Status", "查询": "Status"
}

const trainCodePattern = /^[A-Z][0-9A-Z]{0,7}$/
const stationPattern = /^[A-Z]{3}$/
const refPattern = new RegExp(`^\\d{${smsOrderRefDigits}}$`)
const paymentPasswordPattern = /^\d{6}$/

const fail = (problem: string): ParseResult => ({ ok: false, problem })
const succeed = (command: SmsCommand): ParseResult => ({ ok: true, command })

/** `yyyymmdd` of a real calendar date as `yyyy-mm-dd`, or undefined. */
export const serviceDateOf = (compact: string): string | undefined => {
  const match = /^(\d{4})(\d{2})(\d{2})$/.exec(compact)
  if (!match) return undefined
  const [year, month, day] = match.slice(1).map(Number) as [number, number, number]
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0)
  const daysInMonth = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
  if (daysInMonth === undefined || day < 1 || day > daysInMonth) return undefined
  return `${match[1]}-${match[2]}-${match[3]}`
}

const parseBuy = (args: ReadonlyArray<string>, maxCount: number): ParseResult => {
  if (args.length < 3 || args.length > 4) return fail(`BUY needs <train> <yyyymmdd> <FROM>-<TO> [count], got ${args.length} words after BUY`)
  const [train, date, journey, countText] = args as [string, string, string, string | undefined]
  const trainCode = train.toUpperCase()
  if (!trainCodePattern.test(trainCode)) return fail(`"${train}" is not a train code (a letter, then up to 7 letters or digits)`)
  const serviceDate = serviceDateOf(date)
  if (!serviceDate) return fail(`"${date}" is not a date written yyyymmdd`)
  const stations = journey.toUpperCase().split("-")
  if (stations.length !== 2 || !stations.every((station) => stationPattern.test(station))) {
    return fail(`"${journey}" is not a journey written FROM-TO with 3-letter station codes`)
  }
  const [fromStation, toStation] = stations as [string, string]
  if (fromStation === toStation) return fail(`the journey starts and ends at ${fromStation}`)
  const count = countText === undefined ? 1 : /^\d{1,3}$/.test(countText) ? Number(countText) : Number.NaN
  if (!Number.isInteger(count) || count < 1 || count > maxCount) return fail(`count must be a whole number from 1 to ${maxCount}, got "${countText}"`)
  return succeed({ _tag: "Buy", trainCode, serviceDate, fromStation, toStation, count })
}

const parseRef = (ref: string | undefined): string | undefined => ref !== undefined && refPattern.test(ref) ? ref : undefined

/** Parses one inbound text. `maxCount` is the most tickets one BUY may hold. */
export const parseSmsCommand = (text: string, maxCount: number): ParseResult => {
  const words = text.trim().split(/\s+/).filter((word) => word.length > 0)
  const [first, ...args] = words
  if (first === undefined) return fail(`the message is empty. ${usage}`)
  const tag = keywords[first.toUpperCase()]
  if (!tag) return fail(`unknown command "${first}". ${usage}`)
  switch (tag) {
    case "Buy":
      return parseBuy(args, maxCount)
    case "Pay": {
      if (args.length !== 2) return fail("PAY needs <ref> <payment password>")
      const ref = parseRef(args[0])
      if (!ref) return fail(`"${args[0]}" is not an order reference (${smsOrderRefDigits} digits)`)
      if (!paymentPasswordPattern.test(args[1]!)) return fail("the payment password is 6 digits")
      return succeed({ _tag: "Pay", ref, paymentPassword: args[1]! })
    }
    case "Cancel": {
      if (args.length !== 1) return fail("CANCEL needs <ref>")
      const ref = parseRef(args[0])
      return ref ? succeed({ _tag: "Cancel", ref }) : fail(`"${args[0]}" is not an order reference (${smsOrderRefDigits} digits)`)
    }
    case "Status": {
      if (args.length > 1) return fail("STATUS takes at most one <ref>")
      if (args.length === 0) return succeed({ _tag: "Status", ref: undefined })
      const ref = parseRef(args[0])
      return ref ? succeed({ _tag: "Status", ref }) : fail(`"${args[0]}" is not an order reference (${smsOrderRefDigits} digits)`)
    }
  }
}
