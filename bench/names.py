"""Word lists for the data generator: names, cities, company words, mail domains.

Lists are ordered roughly by real-world frequency; the generator draws from them with
rank-based weights, so a few values are common and most are rare, as in real CRMs.
"""

from __future__ import annotations


def _words(text: str, *, spaces: bool = False) -> list[str]:
    """Whitespace-separated words; with ``spaces``, underscores inside a word become spaces."""
    words = text.split()
    return [w.replace("_", " ") for w in words] if spaces else words


FIRST_NAMES = _words(
    """
James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara
Richard Susan Joseph Jessica Thomas Sarah Charles Karen Christopher Lisa Daniel Nancy
Matthew Betty Anthony Sandra Mark Margaret Donald Ashley Steven Kimberly Paul Emily Andrew
Donna Joshua Michelle Kenneth Carol Kevin Amanda Brian Melissa George Deborah Timothy
Stephanie Ronald Rebecca Jason Sharon Edward Laura Jeffrey Cynthia Ryan Dorothy Jacob Amy
Gary Kathleen Nicholas Angela Eric Shirley Jonathan Emma Stephen Brenda Larry Pamela Justin
Nicole Scott Anna Brandon Samantha Benjamin Katherine Samuel Christine Gregory Debra
Alexander Rachel Patrick Carolyn Frank Janet Raymond Maria Jack Olivia Dennis Heather Jerry
Helen Tyler Catherine Aaron Diane Jose Julie Adam Victoria Nathan Joyce Henry Lauren Zachary
Kelly Douglas Christina Peter Ruth Kyle Joan Noah Virginia Ethan Judith Jeremy Evelyn
Christian Hannah Walter Andrea Keith Megan Austin Cheryl Roger Jacqueline Terry Madison
Sean Teresa Gerald Abigail Carl Sophia Dylan Martha Harold Sara Jordan Gloria Jesse Janice
Bryan Kathryn Lawrence Ann Arthur Isabella Gabriel Judy Bruce Charlotte Logan Julia Billy
Grace Joe Amber Alan Alice Juan Jean Elijah Denise Willie Frances Albert Danielle Wayne
Marilyn Randy Natalie Mason Beverly Vincent Diana Liam Brittany Roy Theresa Bobby Kayla
Caleb Alexis Bradley Doris Russell Lori Lucas Tiffany Ada Alan Grace Linus Margit Sofia
Mateo Lucia Hugo Ines Lars Ingrid Pierre Amelie Giulia Marco Yuki Hiroshi Priya Arjun Wei
Mei Omar Leila Kwame Amara Tomasz Agnieszka Mikko Aino Sven Astrid Rafael Camila Diego
Valentina Joao Beatriz Ahmed Fatima Dmitri Olga Jan Eva Finn Nora Luca Chiara
""",
)

LAST_NAMES = _words(
    """
Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez
Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris
Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill
Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts Gomez Phillips
Evans Turner Diaz Parker Cruz Edwards Collins Reyes Stewart Morris Morales Murphy Cook Rogers
Gutierrez Ortiz Morgan Cooper Peterson Bailey Reed Kelly Howard Ramos Kim Cox Ward Richardson
Watson Brooks Chavez Wood James Bennett Gray Mendoza Ruiz Hughes Price Alvarez Castillo
Sanders Patel Myers Long Ross Foster Jimenez Powell Jenkins Perry Russell Sullivan Bell
Coleman Butler Henderson Barnes Gonzales Fisher Vasquez Simmons Romero Jordan Patterson
Alexander Hamilton Graham Reynolds Griffin Wallace Moreno West Cole Hayes Bryant Herrera
Gibson Ellis Tran Medina Aguilar Stevens Murray Ford Castro Marshall Owens Harrison Fernandez
McDonald Woods Washington Kennedy Wells Vargas Henry Chen Freeman Webb Tucker Guzman Burns
Crawford Olson Simpson Porter Hunter Gordon Mendez Silva Shaw Snyder Mason Dixon Munoz Hunt
Hicks Holmes Palmer Wagner Black Robertson Boyd Rose Stone Salazar Fox Warren Mills Meyer
Rice Schmidt Garza Daniels Ferguson Nichols Stephens Soto Weaver Ryan Gardner Payne Grant
Dunn Kelley Spencer Hawkins Arnold Pierce Vazquez Hansen Peters Santos Hart Bradley Knight
Elliott Cunningham Duncan Armstrong Hudson Carroll Lane Riley Andrews Alvarado Ray Delgado
Berry Perkins Hoffman Johnston Matthews Pena Richards Contreras Willis Carpenter Lawrence
Sandoval Guerrero George Chapman Rios Estrada Ortega Watkins Greene Nunez Wheeler Valdez
Harper Burke Larson Santiago Maldonado Morrison Franklin Carlson Austin Dominguez Carr
Lawson Jacobs Obrien Lynch Singh Vega Bishop Montgomery Oliver Jensen Harvey Williamson
Gilbert Dean Sims Espinoza Howell Li Wong Reid Hanson Le McCoy Garrett Burton Fuller Wang
Weber Welch Rojas Lucas Marquez Fields Park Yang Little Banks Padilla Day Walsh Bowman
Schultz Luna Fowler Mejia Davidson Acosta Brewer May Holland Juarez Newman Pearson Curtis
Cortez Douglas Schneider Joseph Barrett Navarro Figueroa Keller Avila Wade Molina Stanley
Hopkins Campos Barnett Bates Chambers Caldwell Beck Lambert Miranda Byrd Craig Ayala Lowe
Frazier Powers Neal Leonard Gregory Carrillo Sutton Fleming Rhodes Shelton Schwartz Norris
Jennings Watts Duran Walters Cohen McDaniel Moran Parks Steele Vaughn Becker Holt Deleon
Barker Terry Hale Leon Hail Benson Haynes Horton Miles Lyons Pham Graves Bush Thornton
Wolfe Warner Cabrera McKinney Mann Zimmerman Dawson Lara Fletcher Page McCarthy Love
Lovelace Turing Hopper Torvalds Knuth Dijkstra Liskov Lamport Ritchie Thompson Kernighan
Muller Schmid Fischer Wagner Becker Hoffmann Koch Richter Klein Wolf Schroder Neumann
Rossi Russo Ferrari Esposito Bianchi Romano Colombo Ricci Marino Greco Dubois Lefebvre
Moreau Laurent Simon Michel Bernard Petit Durand Leroy Nowak Kowalski Wisniewski Novak
Svoboda Dvorak Horvat Kovac Nielsen Jorgensen Andersen Larsen Johansson Karlsson Nilsson
Eriksson Virtanen Korhonen Tanaka Suzuki Takahashi Watanabe Sato Yamamoto Kumar Sharma
Gupta Reddy Okafor Mensah Haddad Nasser Ivanov Petrov Sokolov Oliveira Souza Pereira
Costa Almeida Ferreira Yilmaz Kaya Demir
""",
)

CITIES = _words(
    """
New_York Los_Angeles Chicago Houston Phoenix Philadelphia San_Antonio San_Diego Dallas
San_Jose Austin Jacksonville Fort_Worth Columbus Charlotte San_Francisco Indianapolis
Seattle Denver Washington Boston El_Paso Nashville Detroit Oklahoma_City Portland Las_Vegas
Memphis Louisville Baltimore Milwaukee Albuquerque Tucson Fresno Mesa Sacramento Atlanta
Kansas_City Colorado_Springs Omaha Raleigh Miami Long_Beach Virginia_Beach Oakland
Minneapolis Tulsa Tampa Arlington New_Orleans Wichita Cleveland Bakersfield Aurora Anaheim
Honolulu Santa_Ana Riverside Corpus_Christi Lexington Stockton Henderson Saint_Paul
St._Louis Cincinnati Pittsburgh Greensboro Anchorage Plano Lincoln Orlando Irvine Newark
Toledo Durham Chula_Vista Fort_Wayne Jersey_City St._Petersburg Laredo Madison Chandler
Buffalo Lubbock Scottsdale Reno Glendale Gilbert Winston-Salem North_Las_Vegas Norfolk
Chesapeake Garland Irving Hialeah Fremont Boise Richmond Baton_Rouge Spokane Des_Moines
Tacoma San_Bernardino Modesto Fontana Santa_Clarita Birmingham Oxnard Fayetteville
Moreno_Valley Rochester Glendora Huntington_Beach Salt_Lake_City Grand_Rapids Amarillo
Yonkers Aurora_IL Montgomery Akron Little_Rock Huntsville Augusta Columbus_GA Grand_Prairie
Shreveport Overland_Park Tallahassee Mobile Knoxville Worcester Providence Toronto Montreal
Vancouver Calgary Ottawa Edmonton Mexico_City Guadalajara Monterrey London Manchester
Edinburgh Glasgow Dublin Cork Paris Lyon Marseille Toulouse Berlin Hamburg Munich Cologne
Frankfurt Stuttgart Vienna Zurich Geneva Basel Amsterdam Rotterdam Utrecht Brussels Antwerp
Luxembourg Copenhagen Aarhus Oslo Bergen Stockholm Gothenburg Helsinki Tampere Reykjavik
Madrid Barcelona Valencia Seville Lisbon Porto Rome Milan Naples Turin Florence Bologna
Athens Thessaloniki Istanbul Ankara Warsaw Krakow Wroclaw Prague Brno Budapest Bratislava
Ljubljana Zagreb Belgrade Bucharest Sofia Tallinn Riga Vilnius Kyiv Tel_Aviv Dubai Abu_Dhabi
Riyadh Doha Cairo Lagos Nairobi Accra Johannesburg Cape_Town Casablanca Mumbai Delhi
Bangalore Hyderabad Chennai Pune Singapore Kuala_Lumpur Jakarta Bangkok Manila Ho_Chi_Minh_City
Hanoi Hong_Kong Taipei Seoul Busan Tokyo Osaka Kyoto Shanghai Beijing Shenzhen Sydney
Melbourne Brisbane Perth Auckland Wellington Sao_Paulo Rio_de_Janeiro Buenos_Aires Santiago
Lima Bogota Medellin Montevideo Quito
""",
    spaces=True,
)

COMPANY_FIRST = _words(
    """
Acme Globex Initech Umbrella Stark Wayne Wonka Tyrell Cyberdyne Soylent Hooli Vandelay
Northwind Contoso Fabrikam Adventure Tailspin Litware Proseware Lucerne Margie Fourth
Blue Green Red Silver Golden Iron Granite Cedar Maple Oak Pine River Lake Summit Harbor
Atlas Apex Vertex Zenith Nova Stellar Quantum Fusion Vector Pixel Cloud Data Bright Clear
North South East West Pacific Atlantic Prairie Mountain Coastal Urban Rural Metro Prime
Alpha Beta Delta Sigma Omega Orbit Rocket Falcon Eagle Hawk Lion Tiger Bear Wolf Fox
""",
)

COMPANY_SECOND = _words(
    """
Systems Solutions Labs Works Industries Dynamics Partners Holdings Group Ventures Logistics
Analytics Software Networks Energy Foods Health Capital Consulting Media Design Robotics
Materials Motors Pharma Retail Studios Supply Telecom Travel Bank Insurance Realty
""",
)

COMPANY_SUFFIX = ["Inc", "LLC", "Ltd", "GmbH", "AG", "SA", "BV", "Co", "Corp", "PLC", ""]

FREE_MAIL = ["gmail.com", "outlook.com", "yahoo.com", "icloud.com", "proton.me", "gmx.de"]

TITLES = _words(
    """
CEO CTO CFO COO VP_Sales VP_Marketing Head_of_Operations Sales_Manager Account_Executive
Marketing_Manager Product_Manager Engineer Analyst Consultant Director Office_Manager
Procurement_Lead Founder Owner Buyer
""",
    spaces=True,
)

COUNTRIES = ["US", "CA", "MX", "GB", "IE", "FR", "DE", "AT", "CH", "NL", "BE", "ES", "IT"]

STATUSES = ["New", "Contacted", "Qualified", "Nurture", "Customer", "Unqualified"]
STATUS_WEIGHTS = [30, 25, 12, 15, 10, 8]

SOURCES = ["Website", "Referral", "Email", "Phone", "Event", "Advertising", "Partner", "Social"]

SEGMENTS = [
    "SMB",
    "Mid-Market",
    "Enterprise",
    "Strategic",
    "Public Sector",
    "Education",
    "Healthcare",
    "Non-Profit",
    "Startup",
    "Agency",
    "Retail",
    "Partner",
]

#: US area codes in service; with any exchange 200-999 except N11 and 555, phonenumbers
#: accepts the number as valid.
US_AREA_CODES = [
    int(a)
    for a in _words(
        """
201 202 203 205 206 207 208 209 210 212 213 214 215 216 217 218 219 224 225 228 229 231 234
239 240 248 251 252 253 254 256 260 262 267 269 270 276 281 301 302 303 304 305 307 308 309
310 312 313 314 315 316 317 318 319 320 321 323 325 330 334 336 337 339 347 351 352 360 361
386 401 402 404 405 406 407 408 409 410 412 413 414 415 417 419 423 425 430 432 434 435 440
443 469 478 479 480 484 501 502 503 504 505 507 508 509 510 512 513 515 516 517 518 520 530
540 541 551 559 561 562 563 567 570 571 573 574 580 585 586 601 602 603 605 606 607 608 609
610 612 614 615 616 617 618 619 620 623 626 630 631 636 641 646 650 651 660 661 662 678 682
701 702 703 704 706 707 708 712 713 714 715 716 717 718 719 720 724 727 731 732 734 740 754
757 760 763 765 770 772 773 774 775 781 785 786 801 802 803 804 805 806 808 810 812 813 814
815 816 817 818 828 830 831 832 843 845 847 848 850 856 857 858 859 860 862 863 864 865 870
878 901 903 904 906 907 908 909 910 912 913 914 915 916 917 918 919 920 925 928 931 936 937
940 941 947 949 951 952 954 956 970 971 972 973 978 979 980 985 989
""",
    )
]
