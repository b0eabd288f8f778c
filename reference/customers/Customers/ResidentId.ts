/**
 * The 18-character resident identity number (GB 11643-1999, seeds 000/002/004 "customer management"):
 * 6 digits of region (GB/T 2260), 8 of birth date YYYYMMDD, 3 of sequence (odd for men, even for women),
 * and a check character by ISO 7064 MOD 11-2 (0–9 or X). The region is checked at province level: the
 * full county list changes every year and is not what a ticketing server should pin.
 */

/** province-level codes of GB/T 2260, with the names used in statistics */
export const provinces: Readonly<Record<string, string>> = {
  "11": "Beijing", "12": "Tianjin", "13": "Hebei", "14": "Shanxi", "15": "Inner Mongolia",
  "21": "Liaoning", "22": "Jilin", "23": "Heilongjiang",
  "31": "Shanghai", "32": "Jiangsu", "33": "Zhejiang", "34": "Anhui", "35": "Fujian", "36": "Jiangxi", "37": "Shandong",
  "41": "Henan", "42": "Hubei", "43": "Hunan", "44": "Guangdong", "45": "Guangxi", "46": "Hainan",
  "50": "Chongqing", "51": "Sichuan", "52": "Guizhou", "53": "Yunnan", "54": "Tibet",
  "61": "Shaanxi", "62": "Gansu", "63": "Qinghai", "64": "Ningxia", "65": "Xinjiang",
  "71": "Taiwan", "81": "Hong Kong", "82": "Macao"
}

const weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2] as const
const checkCharacters = "10X98765432"
/** nobody registering was born before this year */
export const earliestBirthYear = 1900

/** The check character of the first 17 digits (ISO 7064 MOD 11-2). */
export const checkCharacterOf = (first17: string): string => {
  let sum = 0
  for (let index = 0; index < 17; index++) sum += Number(first17[index]) * weights[index]!
  return checkCharacters[sum % 11]!
}

export interface ResidentIdFacts {
  readonly province: string
  readonly birthDate: string
  readonly sex: "female" | "male"
}

export type ResidentIdCheck = { readonly ok: true; readonly facts: ResidentIdFacts } | { readonly ok: false; readonly problem: string }

const birthDateOf = (digits: string, todayIso: string): string | undefined => {
  const year = Number(digits.slice(0, 4)), month = Number(digits.slice(4, 6)), day = Number(digits.slice(6, 8))
  const date = new Date(Date.UTC(year, month - 1, day))
  const valid = date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day
  const iso = `${digits.slice(0, 4)}-${digits.slice(4, 6)}-${digits.slice(6, 8)}`
  return valid && year >= earliestBirthYear && iso <= todayIso ? iso : undefined
}

/** `todayIso` ("YYYY-MM-DD") comes from the caller's Clock: a birth date may not be in the future. */
export const checkResidentId = (text: string, todayIso: string): ResidentIdCheck => {
  if (!/^\d{17}[\dX]$/.test(text)) return { ok: false, problem: "must be 17 digits and a check digit or X" }
  const province = provinces[text.slice(0, 2)]
  if (!province) return { ok: false, problem: `region ${text.slice(0, 6)} is not in a known province` }
  const birthDate = birthDateOf(text.slice(6, 14), todayIso)
  if (!birthDate) return { ok: false, problem: `birth date ${text.slice(6, 14)} is not a real date between ${earliestBirthYear} and today` }
  if (checkCharacterOf(text.slice(0, 17)) !== text[17]) return { ok: false, problem: "check digit does not match" }
  return { ok: true, facts: { province, birthDate, sex: Number(text[16]) % 2 === 1 ? "male" : "female" } }
}

/** Age in whole years on `todayIso`, and the band statistics group by. */
export const ageBandOf = (birthDate: string, todayIso: string) => {
  const years = Number(todayIso.slice(0, 4)) - Number(birthDate.slice(0, 4)) - (todayIso.slice(5) < birthDate.slice(5) ? 1 : 0)
  return years < 18 ? "under-18" : years < 30 ? "18-29" : years < 45 ? "30-44" : years < 60 ? "45-59" : "60+"
}

/** A valid number for a simulated passenger: region, birth date, sequence in, check digit computed. */
export const makeResidentId = (region6: string, birthDateYyyymmdd: string, sequence3: string) => {
  const first17 = `${region6}${birthDateYyyymmdd}${sequence3}`
  return `${first17}${checkCharacterOf(first17)}`
}
